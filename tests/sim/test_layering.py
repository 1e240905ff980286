"""sim/ is a headless core: importing all of it must not pull in textual, rich or tui."""

import pkgutil
import subprocess
import sys

import sim


def test_sim_never_imports_ui_code():
    modules = [f"sim.{m.name}" for m in pkgutil.iter_modules(sim.__path__)]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"sim imported UI modules: {out.stdout}"
    assert len(modules) > 10
