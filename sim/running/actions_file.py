"""Timed operator actions from a TOML file, for headless runs and CI.

    [[actions]]
    at = "75s"                 # when (a duration from the start of the drill)
    action = "pool.resize"     # a name from sim.model.spec.ACTION_NAMES
    pool = "main"              # the action's arguments as keys
    size = 40

Durations may be written as strings without the `_s` suffix (`timeout = "2s"`,
`backoff = "100ms"`) or as seconds with it (`timeout_s = 2.0`). Every problem
is reported at once as a `Problem` (file, line, field path), never a traceback.
`read_action_args` is shared with runbook rules (`sim.running.runbook`).
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from pathlib import Path

import attrs

from sim.drill.drill import Drill
from sim.model.errors import InputError, Problem
from sim.model.spec import ACTION_NAMES, Action
from sim.model.units import UnitError, parse_duration_s

MAX_FILE_BYTES = 1_000_000


@attrs.frozen
class ArgSpec:
    """One argument of an action: its key, what it holds and whether it may be left out.

    kind: "pool" | "dependency" | "class" | "target" (a dependency or class) names
    checked against the drill; "int", "number", "fraction", "duration" (or "none"
    to remove a timeout), "bool", "limit" (a count or "unbounded"), "mode"
    ("random" | "priority"). Optional arguments take the engine's default.
    """

    key: str
    kind: str
    required: bool = True
    low: float | None = None


ACTION_ARGS: dict[str, tuple[ArgSpec, ...]] = {
    "pool.resize": (ArgSpec("pool", "pool"), ArgSpec("size", "int", low=1)),
    "breaker.force_open": (ArgSpec("dependency", "dependency"),),
    "breaker.force_close": (ArgSpec("dependency", "dependency"),),
    "breaker.auto": (ArgSpec("dependency", "dependency"),),
    "shed.set": (ArgSpec("fraction", "fraction"), ArgSpec("mode", "mode", required=False)),
    "queue.set_limit": (ArgSpec("limit", "limit"),),
    "timeout.set": (ArgSpec("dependency", "dependency"), ArgSpec("timeout_s", "duration")),
    "retry.set": (
        ArgSpec("target", "target"),
        ArgSpec("retries", "int", low=0),
        ArgSpec("backoff_s", "duration", required=False),
        ArgSpec("jitter", "fraction", required=False),
    ),
    "ratelimit.set": (ArgSpec("rate_rps", "number", low=0), ArgSpec("burst", "number", required=False, low=1)),
    "workers.scale": (ArgSpec("workers", "int", low=1),),
    "bulkhead.set": (ArgSpec("class", "class"), ArgSpec("pool", "pool"), ArgSpec("size", "int", low=0)),
    "fallback.set": (ArgSpec("dependency", "dependency"), ArgSpec("enabled", "bool", required=False)),
    "worker.restart": (ArgSpec("worker", "int", required=False, low=0),),
    "deploy.rollback": (ArgSpec("deploy", "name", required=False),),
    "flag.set": (ArgSpec("flag", "name"), ArgSpec("enabled", "bool")),
    "cache.coalesce": (ArgSpec("cache", "name"), ArgSpec("enabled", "bool", required=False)),
    "cache.serve_stale": (ArgSpec("cache", "name"), ArgSpec("enabled", "bool", required=False)),
}
"""The arguments each action takes (keys as the engine reads them from `Action.args`)."""

_KEY_ALIASES = {"timeout": "timeout_s", "backoff": "backoff_s", "rate": "rate_rps"}
"""Keys a file may use for an argument: durations without the unit suffix."""


def describe_value(value) -> str:
    """A value as the user wrote it, for "got ..." in messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f'"{value[:37]}..."'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def suggest_name(word: str, known) -> str:
    """"; did you mean ..." for a misspelt name, else the list of known names."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else f"; expected one of: {', '.join(known)}"


@attrs.define
class ProblemSink:
    """Collects problems for one file and finds the line of a field path."""

    file: str
    lines: dict[str, int] = attrs.Factory(dict)
    problems: list[Problem] = attrs.Factory(list)

    def report(self, path: str, message: str) -> None:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        self.problems.append(Problem(file=self.file, path=path, message=message, line=line))


def read_toml_file(path: str | Path, sink: ProblemSink) -> dict | None:
    """The parsed document, or None with the problem reported (missing, not UTF-8, bad TOML)."""
    from sim.drill.loader import index_source_lines

    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        sink.report("", "file not found")
        return None
    except IsADirectoryError:
        sink.report("", "is a folder, not a TOML file")
        return None
    except OSError as error:
        sink.report("", f"cannot be read: {error.strerror or error}")
        return None
    if len(raw) > MAX_FILE_BYTES:
        sink.report("", f"is larger than {MAX_FILE_BYTES} bytes")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        sink.report("", f"is not UTF-8 text (byte {error.start})")
        return None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's TOMLDecodeError carries the line only in its message.
        line = re.search(r"at line (\d+)", str(error))
        sink.problems.append(
            Problem(file=sink.file, path="", message=f"TOML syntax error: {error}", line=int(line[1]) if line else None)
        )
        return None
    try:
        sink.lines = index_source_lines(text)
    except Exception:  # line numbers are a courtesy; a scanner slip must not hide the real problem
        sink.lines = {}
    return document


def _read_value(sink: ProblemSink, path: str, spec: ArgSpec, value):
    """The argument value in engine units, or None (reported)."""
    kind = spec.kind
    if kind in ("pool", "dependency", "class", "target", "name"):
        if isinstance(value, str) and value:
            return value
        what = {"target": "dependency or class", "name": spec.key}.get(kind, kind)
        sink.report(path, f"expected the name of a {what}, got {describe_value(value)}")
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        sink.report(path, f"expected true or false, got {describe_value(value)}")
        return None
    if kind == "mode":
        if value in ("random", "priority"):
            return value
        sink.report(path, f'expected "random" or "priority", got {describe_value(value)}')
        return None
    if kind == "limit":
        if value == "unbounded" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        sink.report(path, f'expected a queue length >= 0 or "unbounded", got {describe_value(value)}')
        return None
    if kind == "duration":
        if value == "none" and spec.key == "timeout_s":
            return value
        if isinstance(value, str):
            try:
                return parse_duration_s(value)
            except UnitError as error:
                sink.report(path, f"{error}, got {describe_value(value)}")
                return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            return float(value)
        sink.report(path, f'expected a duration like "2s" (or seconds >= 0), got {describe_value(value)}')
        return None
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool) and (spec.low is None or value >= spec.low):
            return value
        bound = "" if spec.low is None else f" >= {spec.low:g}"
        sink.report(path, f"expected a whole number{bound}, got {describe_value(value)}")
        return None
    if kind == "fraction":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
            return float(value)
        sink.report(path, f"expected a fraction between 0 and 1, got {describe_value(value)}")
        return None
    # number
    if (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        and (spec.low is None or value >= spec.low)
    ):
        return float(value)
    bound = "" if spec.low is None else f" >= {spec.low:g}"
    sink.report(path, f"expected a number{bound}, got {describe_value(value)}")
    return None


def read_action_args(sink: ProblemSink, path: str, name: str, raw: dict, skip: tuple[str, ...]) -> dict | None:
    """The arguments of action `name` from a table (keys in `skip` belong to the caller).

    Returns None when anything was wrong (every problem reported).
    """
    specs = {spec.key: spec for spec in ACTION_ARGS[name]}
    ok = True
    args: dict[str, object] = {}
    for key, value in raw.items():
        if key in skip:
            continue
        arg = _KEY_ALIASES.get(key, key)
        key_path = f"{path}.{key}"
        if name == "retry.set" and key in ("dependency", "class"):
            arg = "target"
            if "dependency" in raw and "class" in raw:
                if key == "class":
                    sink.report(path, 'retry.set takes exactly one of "dependency" (the service\'s own retries) '
                                      'or "class" (client retries), not both')
                    ok = False
                continue
        if arg not in specs:
            known = [k for spec in ACTION_ARGS[name] for k in (("dependency", "class") if spec.key == "target" else (spec.key,))]
            known += [k for k, a in _KEY_ALIASES.items() if a in specs]
            sink.report(key_path, f'unknown argument "{key}" for {name}{suggest_name(key, known)}')
            ok = False
            continue
        if arg in args:
            sink.report(key_path, f'argument "{arg}" is given twice')
            ok = False
            continue
        parsed = _read_value(sink, key_path, specs[arg], value)
        if parsed is None:
            ok = False
        else:
            args[arg] = parsed
    present = {_KEY_ALIASES.get(key, key) for key in raw if key not in skip}
    if name == "retry.set" and present & {"dependency", "class"}:
        present.add("target")
    for spec in ACTION_ARGS[name]:
        if spec.required and spec.key not in present:
            shown = "dependency" if spec.key == "target" else spec.key
            sink.report(f"{path}.{shown}", f'required argument "{shown}" of {name} is missing')
            ok = False
    if name == "retry.set" and "target" in args:
        # The engine takes the dependency or class under the key the file used.
        target_key = "class" if "class" in raw else "dependency"
        args[target_key] = args.pop("target")
    return args if ok else None


def read_action_name(sink: ProblemSink, path: str, value) -> str | None:
    """A valid action name, or None (reported with a did-you-mean)."""
    if not isinstance(value, str):
        sink.report(path, f"expected an action name such as \"pool.resize\", got {describe_value(value)}")
        return None
    if value not in ACTION_NAMES:
        sink.report(path, f'unknown action "{value}"{suggest_name(value, ACTION_NAMES)}')
        return None
    return value


def _read_at(sink: ProblemSink, path: str, value) -> float | None:
    if isinstance(value, str):
        try:
            return parse_duration_s(value)
        except UnitError as error:
            sink.report(path, f"{error}, got {describe_value(value)}")
            return None
    sink.report(path, f'expected a duration like "90s", got {describe_value(value)}')
    return None


def read_table_array(path: str | Path, key: str, example: str) -> tuple[ProblemSink, list[tuple[int, str, dict]]]:
    """The [[key]] tables of a TOML file as (index, field path, table); anything else in
    the file is reported. Raises InputError when there is no usable array at all."""
    sink = ProblemSink(file=str(path))
    document = read_toml_file(path, sink)
    if document is None:
        raise InputError(sink.problems)
    for name in document:
        if name != key:
            sink.report(name, f'unknown key "{name}"{suggest_name(name, [key])}')
    entries = document.get(key)
    if entries is None:
        sink.report(key, f"no [[{key}]] entries; expected tables like [[{key}]] {example}")
        raise InputError(sink.problems)
    if not isinstance(entries, list):
        sink.report(key, f"expected an array of tables ([[{key}]]), got {describe_value(entries)}")
        raise InputError(sink.problems)
    tables = []
    for index, entry in enumerate(entries):
        entry_path = f"{key}[{index}]"
        if isinstance(entry, dict):
            tables.append((index, entry_path, entry))
        else:
            sink.report(entry_path, f"expected a table, got {describe_value(entry)}")
    return sink, tables


def load_actions(path: str | Path, drill: Drill | None = None) -> tuple[Action, ...]:
    """The actions of a TOML actions file, ordered by time; raises InputError listing every problem.

    With a drill, the pools, dependencies and classes the actions name are checked against it.
    """
    sink, entries = read_table_array(path, "actions", 'at = "75s" action = "pool.resize"')
    actions = []
    for index, entry_path, entry in entries:
        at_s = _read_at(sink, f"{entry_path}.at", entry["at"]) if "at" in entry else None
        if "at" not in entry:
            sink.report(f"{entry_path}.at", 'required key "at" is missing (when to act, e.g. "75s")')
        if "action" not in entry:
            sink.report(f"{entry_path}.action", 'required key "action" is missing (e.g. "pool.resize")')
            continue
        name = read_action_name(sink, f"{entry_path}.action", entry["action"])
        if name is None:
            continue
        args = read_action_args(sink, entry_path, name, entry, skip=("at", "action"))
        if at_s is not None and args is not None:
            action = Action(t_s=at_s, name=name, args=args)
            actions.append(action)
            if drill is not None:
                check_references(drill, sink, entry_path, action)
    if sink.problems:
        raise InputError(sink.problems)
    return tuple(sorted(actions, key=lambda a: a.t_s))


def action_references(action: Action) -> list[tuple[str, str]]:
    """(kind, name) of every drill object the action names: pool, dependency, class."""
    refs = []
    for spec in ACTION_ARGS.get(action.name, ()):
        keys = ("dependency", "class") if spec.kind == "target" else (spec.key,)
        for key in keys:
            value = action.arg(key)
            if value is None:
                continue
            kind = spec.kind if spec.kind != "target" else key
            if kind == "name" and key in ("flag", "cache"):
                kind = key
            if kind in ("pool", "dependency", "class", "flag", "cache"):
                refs.append((kind, str(value)))
    return refs


def check_references(drill: Drill, sink: ProblemSink, path: str, action: Action) -> None:
    """Report each pool, dependency or class the action names that the drill does not have."""
    names = {
        "pool": [p.name for p in drill.model.pools],
        "dependency": [d.name for d in drill.model.dependencies],
        "class": [c.name for c in drill.model.classes],
        "flag": [f.name for f in drill.model.flags],
        "cache": [c.name for c in drill.model.caches],
    }
    for kind, value in action_references(action):
        if value not in names[kind]:
            known = names[kind]
            hint = suggest_name(value, known) if known else f"; it has no {kind} at all"
            sink.report(f"{path}.{kind}", f'drill "{drill.id}" has no {kind} "{value}"{hint}')
