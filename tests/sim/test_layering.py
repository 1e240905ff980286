"""sim/ is a headless core in layers: each layer imports only the layers below it.

The rules are the ALLOWED table below; importing all of sim must not pull in
textual, rich or tui.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import sim

SIM_DIR = Path(sim.__file__).resolve().parent

ALLOWED = {
    "model": {"model"},
    "engine": {"model", "engine"},
    "drill": {"model", "drill"},
    "scoring": {"model", "drill", "scoring"},
    "records": {"model", "engine", "drill", "scoring", "records"},
    "running": {"model", "engine", "drill", "scoring", "running"},
    "reporting": {"model", "engine", "drill", "scoring", "records", "running", "reporting"},
    "tools": {"model", "engine", "drill", "scoring", "records", "running", "tools"},
}
"""Layer -> the layers its modules may import (sim's own top level, ENGINE_VERSION, is open to all)."""


def _sim_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(sim.__path__, "sim.")]


def _imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) for every `import` and `from ... import` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
    return found


def test_sim_never_imports_ui_code():
    modules = _sim_modules()
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"sim imported UI modules: {out.stdout}"
    assert len(modules) > 20


def test_every_module_lives_in_a_layer():
    loose = sorted(p.name for p in SIM_DIR.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules outside a layer folder: {loose}"
    layers = sorted(p.name for p in SIM_DIR.iterdir() if (p / "__init__.py").is_file())
    assert layers == sorted(ALLOWED)


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for path in sorted(SIM_DIR.rglob("*.py")):
        rel = path.relative_to(SIM_DIR)
        if len(rel.parts) < 2:
            continue
        layer = rel.parts[0]
        for line, module, _ in _imports(path):
            parts = module.split(".")
            if parts[0] != "sim" or len(parts) == 1:
                continue
            if parts[1] not in ALLOWED[layer]:
                wrong.append(f"sim/{rel.as_posix()}:{line} ({layer}) imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_private_name_of_another():
    wrong = []
    roots = [SIM_DIR, SIM_DIR.parent / "tui"]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for line, module, names in _imports(path):
                if module.split(".")[0] not in ("sim", "tui"):
                    continue
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    wrong.append(f"{path.relative_to(root.parent).as_posix()}:{line} imports {private} from {module}")
    assert not wrong, "\n".join(wrong)


def _module_name(path: Path) -> str:
    rel = path.relative_to(SIM_DIR.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def test_no_import_cycles_in_sim():
    """Modules of sim/ import each other in one direction only (imports inside functions count too)."""
    modules = {_module_name(p): p for p in SIM_DIR.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for _, module, names in _imports(path):
            if module in modules:
                targets.add(module)
            # `from sim.engine import actions` imports the module sim.engine.actions.
            targets.update(f"{module}.{n}" for n in names if f"{module}.{n}" in modules)
        targets.discard(name)
        # A package's __init__ is imported by its modules anyway; it is not an edge worth a cycle.
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def _own_private_names(tree: ast.AST) -> set[str]:
    """Private names a module defines itself: set on self/cls, or declared in one of its class bodies."""
    own = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls") and node.attr.startswith("_")):
            own.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    own.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    own.update(t.id for t in item.targets if isinstance(t, ast.Name))
                elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    own.add(item.name)
    return own


def test_no_module_reads_a_private_attribute_of_another():
    """`obj._name` is read only on self or cls, or where this module's own class defines `_name`
    (a classmethod filling in the instance it builds). A component reaches another one's state
    through its public methods, never through its private arrays."""
    wrong = []
    for path in sorted(SIM_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _own_private_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            name = node.attr
            if not name.startswith("_") or name.startswith("__"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if name in own:
                continue
            wrong.append(f"sim/{path.relative_to(SIM_DIR).as_posix()}:{node.lineno} reads {ast.unparse(node)}")
    assert not wrong, "\n".join(wrong)
