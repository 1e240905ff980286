"""Saved runs: a small TOML record of one played drill, written atomically.

A save holds what is needed to re-simulate the run exactly (drill id and the
SHA-256 of the drill file, seed, the action log with the tick times the engine
applied each action) plus what a reviewer wants to see without re-simulating
(player, times, score, SLIs) and the digest that proves a replay is exact.

The loader validates a save like a drill: every problem is collected and raised
as one `InputError`; a truncated, corrupt, hand-edited or future-version file
never produces a traceback. The `[integrity]` checksum at the end of the file
covers every other field, so a file cut short or edited by hand is reported
instead of being replayed as if it were what was played.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import math
import os
import re
import tempfile
import time
import tomllib
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import tomli_w

try:
    import fcntl
except ImportError:  # Windows: temporary files are judged by age alone
    fcntl = None

from sim import ENGINE_VERSION
from sim.model.errors import InputError, Problem
from sim.drill.modes import DEFAULT_MODE, MODE_NAMES
from sim.model.facilitation import FACILITATOR_ACTION_NAMES
from sim.model.spec import ACTION_NAMES, Action
from sim.records.home import brownout_home

if TYPE_CHECKING:
    from sim.drill.drill import Drill

FORMAT_VERSION = 2
"""The save format this code writes and reads. Older formats are read as they are (format 1
has no mode or blind fields: it was guided and not blind); a newer one is refused with a
message to upgrade Brownout. Format 2 added `mode` and `blind`."""

END_KINDS = ("finished", "abandoned", "crashed")
"""How a run ended: played to the drill's end, quit early, or the app crashed."""

SAVES_ENV = "BROWNOUT_SAVES"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")


@attrs.frozen
class SavedSLI:
    """One SLO's outcome as scored at the end of the run."""

    name: str
    target: float
    attained: float
    """Fraction of good events among valid events (NaN when there were none)."""


@attrs.frozen
class ForkPoint:
    """Where a branched run left the replay it was forked from."""

    save: str
    """File name of the save that was being replayed."""
    t_s: float
    """Sim time of the fork: everything before it is the original run."""


@attrs.frozen
class Save:
    """One saved run, as written to and read from a save file."""

    drill_id: str
    drill_sha256: str
    """SHA-256 (hex) of the drill file the run was played on."""
    seed: int
    player: str
    started_at: dt.datetime
    """Wall-clock start, timezone-aware UTC, whole seconds."""
    ended_at: dt.datetime
    ended: str = attrs.field(validator=attrs.validators.in_(END_KINDS))
    end_t_s: float
    """Sim time reached when the run ended."""
    end_tick: int
    """Ticks simulated (the replay runs exactly this many)."""
    digest: str
    """`Simulation.digest()` at end_tick: SHA-256 over every tick's metric row."""
    actions: tuple[Action, ...] = ()
    """The engine's action log: each action at the tick time it was applied or refused."""
    score: float | None = None
    grade: str | None = None
    slis: tuple[SavedSLI, ...] = ()
    drill_path: str | None = None
    """Where the drill file was when the run was played (None: find it by id)."""
    forked_from: ForkPoint | None = None
    mode: str = attrs.field(default=DEFAULT_MODE.name, validator=attrs.validators.in_(MODE_NAMES))
    """The difficulty mode it was played in (sim.drill.modes)."""
    blind: bool = False
    """Played as a blind incident (neutral name and briefing, fresh seed)."""
    engine_version: str = ENGINE_VERSION
    format_version: int = FORMAT_VERSION


@attrs.frozen
class SaveSummary:
    """One line of `brownout saves list`: a save file and what it says, or why it cannot be read."""

    path: Path
    drill_id: str | None = None
    player: str | None = None
    started_at: dt.datetime | None = None
    ended: str | None = None
    end_t_s: float | None = None
    score: float | None = None
    grade: str | None = None
    forked_from: ForkPoint | None = None
    mode: str | None = None
    blind: bool = False
    error: str | None = None
    """The loader's one-line error when the file is not a valid save."""

    @property
    def ok(self) -> bool:
        """True when the file is a valid save."""
        return self.error is None

    @property
    def score_text(self) -> str:
        """"88 B" for a finished run; "(42)" for one that ended early (it scored only
        the time played, so it gets no grade); "-" without a score."""
        if self.score is None:
            return "-"
        if self.ended == "finished":
            return f"{self.score:.0f} {self.grade or ''}".rstrip()
        return f"({self.score:.0f})"


# --------------------------------------------------------------------------- paths


def default_saves_dir() -> Path:
    """Where runs are saved: $BROWNOUT_SAVES if set, else `saves` in $BROWNOUT_HOME or the platform's user data
    folder (`~/.local/share/brownout/saves` on Linux or `$XDG_DATA_HOME/brownout/saves`,
    `~/Library/Application Support/brownout/saves` on macOS, `%LOCALAPPDATA%\\brownout\\saves`
    on Windows), whatever the current folder."""
    configured = os.environ.get(SAVES_ENV)
    if configured:
        return Path(configured).expanduser()
    return brownout_home() / "saves"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes: how a save pins the drill it was played on."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def utc_now() -> dt.datetime:
    """The current time as a timezone-aware UTC datetime in whole seconds."""
    return _whole_seconds_utc(dt.datetime.now(dt.timezone.utc))


def _whole_seconds_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        # A naive time from the caller is taken as UTC, the only zone saves use.
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0)


def _format_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe_name_part(text: str, fallback: str) -> str:
    cleaned = _UNSAFE_NAME_RE.sub("_", text).strip("._")
    return cleaned[:40] or fallback


def save_filename(drill_id: str, player: str, started_at: dt.datetime) -> str:
    """`<drill>-<player>-<UTC timestamp>.toml`, with characters unsafe in file names replaced."""
    stamp = _whole_seconds_utc(started_at).strftime("%Y%m%dT%H%M%SZ")
    return f"{_safe_name_part(drill_id, 'drill')}-{_safe_name_part(player, 'player')}-{stamp}.toml"


def _candidate_names(filename: str):
    """`filename`, then `<stem>-2.toml`, `<stem>-3.toml`, ... (the names a new save may claim)."""
    yield filename
    stem = filename[: -len(".toml")] if filename.endswith(".toml") else filename
    number = 2
    while True:
        yield f"{stem}-{number}.toml"
        number += 1


TEMP_GRACE_S = 30.0
"""A hidden temporary file written to this recently may be about to be renamed (its lock is
held only while it is written and synced); older ones that nobody holds locked were left by
a killed write."""

TEMP_GRACE_UNLOCKABLE_S = 3600.0
"""Where files cannot be locked (no fcntl), a temporary file is taken as abandoned after an hour."""


def remove_stale_temp_files(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Delete the hidden `.*.tmp` files that killed writes left in a saves folder; return them.

    A write in progress holds an exclusive lock on its temporary file, so another
    process running this never removes a file being written.
    """
    folder = Path(directory) if directory is not None else default_saves_dir()
    removed: list[Path] = []
    try:
        candidates = [p for p in folder.glob(".*.tmp") if p.is_file()]
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        try:
            age_s = now - path.stat().st_mtime
        except OSError:
            continue
        if fcntl is None:
            if age_s >= TEMP_GRACE_UNLOCKABLE_S:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
            continue
        if age_s < TEMP_GRACE_S:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a writer holds it: not ours to remove
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


# --------------------------------------------------------------------------- writing


def save_to_document(save: Save) -> dict[str, Any]:
    """The TOML document for a save, including its integrity checksum."""
    head: dict[str, Any] = {
        "format_version": save.format_version,
        "engine_version": save.engine_version,
        "drill_id": save.drill_id,
        "drill_sha256": save.drill_sha256,
        "seed": save.seed,
        "player": save.player,
        "started_at": _format_time(save.started_at),
        "ended_at": _format_time(save.ended_at),
        "ended": save.ended,
        "end_t_s": float(save.end_t_s),
        "end_tick": save.end_tick,
        "digest": save.digest,
    }
    if save.drill_path is not None:
        head["drill_path"] = save.drill_path
    head["mode"] = save.mode
    head["blind"] = save.blind
    document: dict[str, Any] = {"save": head}
    if save.forked_from is not None:
        document["forked_from"] = {"save": save.forked_from.save, "t_s": float(save.forked_from.t_s)}
    result: dict[str, Any] = {}
    if save.score is not None:
        result["score"] = float(save.score)
    if save.grade is not None:
        result["grade"] = save.grade
    result["slis"] = [
        {"name": sli.name, "target": float(sli.target), "attained": float(sli.attained)} for sli in save.slis
    ]
    document["result"] = result
    document["actions"] = [_action_to_table(action) for action in save.actions]
    document["integrity"] = {"checksum": _checksum(document)}
    return document


def _action_to_table(action: Action) -> dict[str, Any]:
    table: dict[str, Any] = {"t_s": float(action.t_s), "name": action.name}
    # TOML has no null: None-valued arguments are listed by name instead.
    table["args"] = {key: _plain(value) for key, value in action.args if value is not None}
    none_keys = [key for key, value in action.args if value is None]
    if none_keys:
        table["none_args"] = none_keys
    return table


def _plain(value: Any) -> Any:
    # Numpy scalars (an engine may log them) become the Python values TOML can hold.
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def _checksum(document: dict[str, Any]) -> str:
    """SHA-256 over a canonical JSON form of every table except [integrity]."""
    body = {key: value for key, value in document.items() if key != "integrity"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dumps_save(save: Save) -> str:
    """A save as TOML text."""
    return tomli_w.dumps(save_to_document(save))


def _lock(fd: int) -> None:
    # Marks the temporary file as being written, so remove_stale_temp_files leaves it alone.
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _write_temp(directory: Path, name: str, data: bytes) -> str:
    """A fully written and fsynced hidden temporary file in `directory`; returns its path.

    It is locked while it is written, so remove_stale_temp_files never takes a file
    being written for one a killed process left behind.
    """
    fd, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        try:
            _lock(fd)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    return temp_name


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers only ever see the old or the new file.

    The bytes go to a temporary file in the same folder (so the rename cannot
    cross file systems), are flushed to disk, then renamed over the target; the
    folder is synced so the rename itself survives a power cut. On any failure,
    including Ctrl+C, the temporary file is removed and the old file is untouched.
    """
    directory = path.parent
    temp_name = _write_temp(directory, path.name, data)
    try:
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


def write_new(directory: Path, filename: str, data: bytes) -> Path:
    """Create a new file holding `data` under the first free name of `filename`, `<stem>-2.toml`, ...

    The name is claimed atomically, so two writers racing for the same name (two
    runs of one drill by one player started in the same second) get two files and
    neither overwrites the other. The complete file is written and synced under a
    temporary name first, then hard-linked to the free name (a link fails when the
    name exists), so the new name never shows an empty or partial file. Where hard
    links are not supported, the name is claimed with an exclusive create and the
    content renamed over it.
    """
    temp_name = _write_temp(directory, filename, data)
    try:
        for name in _candidate_names(filename):
            target = directory / name
            try:
                os.link(temp_name, target)
            except FileExistsError:
                continue
            except OSError as error:
                if error.errno not in _NO_LINK_ERRNOS:
                    raise
                if not _claim(target):
                    continue
                os.replace(temp_name, target)
                break
            os.unlink(temp_name)
            break
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)
    return target


_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _claim(target: Path) -> bool:
    """Create `target` empty, exclusively: False when the name is taken."""
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    return True


def _fsync_directory(directory: Path) -> None:
    # Not every platform can open a directory (Windows); the rename is still atomic there.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_save(save: Save, path: Path) -> Path:
    """Write a save to `path` atomically (replacing any previous version of it)."""
    write_atomic(path, dumps_save(save).encode("utf-8"))
    return path


def slis_from_report(report: Any) -> tuple[SavedSLI, ...]:
    """The per-SLO outcomes of a scoring report (anything with `.slis` of name/target/attained)."""
    saved = []
    for index, sli in enumerate(getattr(report, "slis", ()) or ()):
        name = getattr(sli, "name", None)
        if name is None:
            slo = getattr(sli, "slo", None)
            name = getattr(slo, "name", f"slo{index + 1}")
        saved.append(SavedSLI(name=str(name), target=float(sli.target), attained=float(sli.attained)))
    return tuple(saved)


def build_save(
    drill: Drill,
    sim: Any,
    *,
    player: str,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    ended: str,
    report: Any = None,
    forked_from: ForkPoint | None = None,
    mode: str = DEFAULT_MODE.name,
    blind: bool = False,
) -> Save:
    """The save value for a run in progress or finished: `sim` is the engine's Simulation."""
    drill_sha256 = drill.source_sha256
    if drill_sha256 is None and drill.source_path is not None:
        drill_sha256 = file_sha256(drill.source_path)
    if drill_sha256 is None:
        raise ValueError(f"drill {drill.id!r} has no source file: a run on it cannot be saved for replay")
    return Save(
        drill_id=drill.id,
        drill_sha256=drill_sha256,
        # Absolute, so a replay started from another folder still finds the file.
        drill_path=None if drill.source_path is None else str(Path(drill.source_path).resolve()),
        seed=int(sim.seed),
        player=player,
        started_at=_whole_seconds_utc(started_at),
        ended_at=_whole_seconds_utc(ended_at),
        ended=ended,
        end_t_s=float(sim.t_s),
        end_tick=int(sim.tick),
        digest=sim.digest(),
        actions=tuple(sim.action_log),
        # Ungraded until judged against do nothing and par (the app grades in the debrief, then
        # saves again); only a run played to the end is graded: an early end scores the time played.
        score=None if report is None or report.score is None else float(report.score),
        grade=None if report is None or report.grade is None or ended != "finished" else str(report.grade),
        slis=() if report is None else slis_from_report(report),
        forked_from=forked_from,
        mode=mode,
        blind=blind,
    )


def save_run(
    drill: Drill,
    sim: Any,
    *,
    player: str,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    ended: str,
    report: Any = None,
    saves_dir: str | os.PathLike[str] | None = None,
    forked_from: ForkPoint | None = None,
    path: str | os.PathLike[str] | None = None,
    mode: str = DEFAULT_MODE.name,
    blind: bool = False,
) -> Path:
    """Save a run atomically and return the file's path.

    With `path=None` a new unique file `<drill>-<player>-<UTC start>.toml` is
    created in `saves_dir` (default `default_saves_dir()`). Pass the returned
    path back as `path` to update the same save as the run goes on (the app
    saves on quit, on Ctrl+C and on a crash; each write is complete or absent).
    """
    save = build_save(
        drill, sim, player=player, started_at=started_at, ended_at=ended_at,
        ended=ended, report=report, forked_from=forked_from, mode=mode, blind=blind,
    )
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        directory = Path(saves_dir) if saves_dir is not None else default_saves_dir()
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(directory)
        return write_new(directory, save_filename(save.drill_id, save.player, save.started_at),
                         dumps_save(save).encode("utf-8"))
    return write_save(save, target)


# --------------------------------------------------------------------------- reading


def load_save(path: str | os.PathLike[str]) -> Save:
    """Read and validate a save file; raise InputError naming the file and every problem."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError.single(file, "no such save file") from None
    except IsADirectoryError:
        raise InputError.single(file, "is a folder, not a save file") from None
    except OSError as exc:
        raise InputError.single(file, f"cannot read the save file: {exc.strerror or exc}") from None
    return parse_save(raw, file)


def parse_save(raw: bytes, file: str) -> Save:
    """Validate the bytes of a save file (named `file` in messages)."""
    if not raw.strip():
        raise InputError.single(file, "the save file is empty (was the write interrupted?)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.single(file, f"not a text file (invalid UTF-8 at byte {exc.start}): corrupt save") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        reason = str(exc).split(" (at ")[0]
        raise InputError.single(file, f"not valid TOML ({reason}): truncated or corrupt save", line=line) from None
    return _SaveReader(file, text).read(document)


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


_MISSING = object()


class _SaveReader:
    """Collects every problem in one parsed save document."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        """Record one problem at a field path."""
        self.problems.append(Problem(file=self.file, path=path, message=message, line=self._line_of(path)))

    def _line_of(self, path: str) -> int | None:
        # Best effort: the line where the field's key (or table header) appears.
        key = path.split(".")[-1].split("[")[0]
        if not key:
            return None
        pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\b")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return number
        return None

    # -- typed field access ----------------------------------------------------------

    def field(self, table: dict, path: str, key: str, kind: str, *, required: bool = True) -> Any:
        """A field of the expected kind, or None after recording why not."""
        full = f"{path}.{key}" if path else key
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(full, f"missing (expected {_KIND_WORDS[kind]})")
            return None
        checked = _check_kind(value, kind)
        if checked is _MISSING:
            self.problem(full, f"expected {_KIND_WORDS[kind]}, got {_describe(value)}")
            return None
        return checked

    def table(self, document: dict, key: str, *, required: bool = True) -> dict | None:
        """A sub-table, or None after recording why not."""
        value = document.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(key, "missing table (the file looks truncated)")
            return None
        if not isinstance(value, dict):
            self.problem(key, f"expected a table, got {_describe(value)}")
            return None
        return value

    # -- the document ------------------------------------------------------------------

    def read(self, document: dict) -> Save:
        """The Save, or InputError listing every problem."""
        if "save" not in document:
            # No [save] table at all: a different kind of file rather than a damaged save.
            other = ", ".join(f"[{_key_text(key)}]" for key in list(document)[:3]) or "nothing"
            raise InputError.single(self.file, f"not a Brownout save: no [save] table (found {other})")
        head = self.table(document, "save")
        if head is not None:
            version = head.get("format_version")
            if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
                raise InputError.single(
                    self.file,
                    f"written by a newer Brownout (save format {version}); this version reads "
                    f"format {FORMAT_VERSION}: upgrade Brownout to open it",
                    path="save.format_version",
                    line=self._line_of("save.format_version"),
                )
        fields = self._read_head(head or {}) if head is not None else {}
        fork = self._read_fork(document)
        score, grade, slis = self._read_result(document)
        actions = self._read_actions(document)
        self._check_unknown(document, {"save", "forked_from", "result", "actions", "integrity"}, "")
        if head is not None:
            self._check_consistency(fields, actions, fork)
        self._check_integrity(document)
        if self.problems:
            raise InputError(self.problems)
        return Save(
            format_version=fields["format_version"],
            engine_version=fields["engine_version"],
            drill_id=fields["drill_id"],
            drill_sha256=fields["drill_sha256"],
            drill_path=fields["drill_path"],
            seed=fields["seed"],
            player=fields["player"],
            started_at=fields["started_at"],
            ended_at=fields["ended_at"],
            ended=fields["ended"],
            end_t_s=fields["end_t_s"],
            end_tick=fields["end_tick"],
            digest=fields["digest"],
            actions=actions,
            score=score,
            grade=grade,
            slis=slis,
            forked_from=fork,
            mode=fields["mode"] if fields["mode"] is not None else DEFAULT_MODE.name,
            blind=bool(fields["blind"]),
        )

    def _read_head(self, head: dict) -> dict[str, Any]:
        f = {
            "format_version": self.field(head, "save", "format_version", "int"),
            "engine_version": self.field(head, "save", "engine_version", "str"),
            "drill_id": self.field(head, "save", "drill_id", "str"),
            "drill_sha256": self.field(head, "save", "drill_sha256", "str"),
            "drill_path": self.field(head, "save", "drill_path", "str", required=False),
            "seed": self.field(head, "save", "seed", "int"),
            "player": self.field(head, "save", "player", "str"),
            "started_at": self._time(head, "started_at"),
            "ended_at": self._time(head, "ended_at"),
            "ended": self.field(head, "save", "ended", "str"),
            "end_t_s": self.field(head, "save", "end_t_s", "float"),
            "end_tick": self.field(head, "save", "end_tick", "int"),
            "digest": self.field(head, "save", "digest", "str"),
            # Format 2; a format 1 save has neither (guided, not blind).
            "mode": self.field(head, "save", "mode", "str", required=False),
            "blind": self.field(head, "save", "blind", "bool", required=False),
        }
        self._check_unknown(head, set(f), "save")
        if f["format_version"] is not None and f["format_version"] < 1:
            self.problem("save.format_version", f"expected a format version >= 1, got {f['format_version']}")
        if f["drill_id"] == "":
            self.problem("save.drill_id", "must not be empty")
        for key in ("drill_sha256", "digest"):
            if f[key] is not None and not _SHA256_RE.match(f[key]):
                self.problem(f"save.{key}", f"expected 64 lowercase hex digits (a SHA-256), got {f[key]!r}")
        if f["seed"] is not None and f["seed"] < 0:
            self.problem("save.seed", f"expected a seed >= 0, got {f['seed']}")
        if f["mode"] is not None and f["mode"] not in MODE_NAMES:
            self.problem("save.mode", f"expected one of {', '.join(MODE_NAMES)}, got {f['mode']!r}")
            f["mode"] = None
        if f["ended"] is not None and f["ended"] not in END_KINDS:
            self.problem("save.ended", f"expected one of {', '.join(END_KINDS)}, got {f['ended']!r}")
        if f["end_t_s"] is not None and not (math.isfinite(f["end_t_s"]) and f["end_t_s"] >= 0):
            self.problem("save.end_t_s", f"expected a finite time >= 0 in seconds, got {f['end_t_s']!r}")
        if f["end_tick"] is not None and f["end_tick"] < 0:
            self.problem("save.end_tick", f"expected a tick count >= 0, got {f['end_tick']}")
        if f["started_at"] is not None and f["ended_at"] is not None and f["ended_at"] < f["started_at"]:
            self.problem("save.ended_at", "ends before it started")
        return f

    def _time(self, head: dict, key: str) -> dt.datetime | None:
        text = self.field(head, "save", key, "str")
        if text is None:
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.problem(f"save.{key}", f'expected an ISO 8601 UTC time like "2026-01-31T14:05:00Z", got {text!r}')
            return None
        return _whole_seconds_utc(moment)

    def _read_fork(self, document: dict) -> ForkPoint | None:
        table = self.table(document, "forked_from", required=False)
        if table is None:
            return None
        name = self.field(table, "forked_from", "save", "str")
        t_s = self.field(table, "forked_from", "t_s", "float")
        self._check_unknown(table, {"save", "t_s"}, "forked_from")
        if t_s is not None and not (math.isfinite(t_s) and t_s >= 0):
            self.problem("forked_from.t_s", f"expected a finite time >= 0 in seconds, got {t_s!r}")
            return None
        if name is None or t_s is None:
            return None
        return ForkPoint(save=name, t_s=t_s)

    def _read_result(self, document: dict) -> tuple[float | None, str | None, tuple[SavedSLI, ...]]:
        table = self.table(document, "result")
        if table is None:
            return None, None, ()
        score = self.field(table, "result", "score", "float", required=False)
        grade = self.field(table, "result", "grade", "str", required=False)
        self._check_unknown(table, {"score", "grade", "slis"}, "result")
        if score is not None and not (0.0 <= score <= 100.0):
            self.problem("result.score", f"expected a score from 0 to 100, got {score!r}")
        raw_slis = self.field(table, "result", "slis", "list")
        slis = []
        for index, entry in enumerate(raw_slis or ()):
            path = f"result.slis[{index}]"
            if not isinstance(entry, dict):
                self.problem(path, f"expected a table with name, target, attained, got {_describe(entry)}")
                continue
            name = self.field(entry, path, "name", "str")
            target = self.field(entry, path, "target", "float")
            attained = self.field(entry, path, "attained", "float")
            self._check_unknown(entry, {"name", "target", "attained"}, path)
            if target is not None and not (0.0 < target < 1.0):
                self.problem(f"{path}.target", f"expected a fraction between 0 and 1, got {target!r}")
            if attained is not None and not (math.isnan(attained) or 0.0 <= attained <= 1.0):
                self.problem(f"{path}.attained", f"expected a fraction from 0 to 1, got {attained!r}")
            if None not in (name, target, attained):
                slis.append(SavedSLI(name=name, target=target, attained=attained))
        return score, grade, tuple(slis)

    def _read_actions(self, document: dict) -> tuple[Action, ...]:
        raw = document.get("actions", _MISSING)
        if raw is _MISSING:
            self.problem("actions", "missing (expected a list of actions, possibly empty)")
            return ()
        if not isinstance(raw, list):
            self.problem("actions", f"expected a list of actions, got {_describe(raw)}")
            return ()
        actions = []
        previous_t_s = -math.inf
        for index, entry in enumerate(raw):
            path = f"actions[{index}]"
            if not isinstance(entry, dict):
                self.problem(path, f"expected a table with t_s, name, args, got {_describe(entry)}")
                continue
            t_s = self.field(entry, path, "t_s", "float")
            name = self.field(entry, path, "name", "str")
            args = self.field(entry, path, "args", "table")
            none_args = self.field(entry, path, "none_args", "list", required=False) or []
            self._check_unknown(entry, {"t_s", "name", "args", "none_args"}, path)
            if t_s is not None:
                if not (math.isfinite(t_s) and t_s >= 0):
                    self.problem(f"{path}.t_s", f"expected a finite time >= 0 in seconds, got {t_s!r}")
                    t_s = None
                elif t_s < previous_t_s:
                    self.problem(f"{path}.t_s", f"actions must be in time order: {t_s} comes after {previous_t_s}")
                else:
                    previous_t_s = t_s
            if name is not None and name not in ACTION_NAMES + FACILITATOR_ACTION_NAMES:
                self.problem(f"{path}.name", f"unknown action {name!r} (expected one of {', '.join(ACTION_NAMES)})")
                name = None
            arg_items = self._action_args(name, args, none_args, path)
            if t_s is not None and name is not None and arg_items is not None:
                actions.append(Action(t_s=t_s, name=name, args=arg_items))
        return tuple(actions)

    def _action_args(
        self, name: str | None, args: dict | None, none_args: list, path: str
    ) -> list[tuple[str, object]] | None:
        if args is None:
            return None
        items: list[tuple[str, object]] = []
        ok = True
        kinds = SAVED_ARG_KINDS.get(name) if name is not None else None
        for key, value in args.items():
            key_path = f"{path}.args.{_key_text(key)}"
            if isinstance(value, (dict, list, dt.date, dt.time)):
                self.problem(key_path, f"expected a number, text or true/false, got {_describe(value)}")
                ok = False
            elif kinds is not None and key not in kinds:
                self.problem(key_path, f"{name} takes no argument {key!r} (it takes {', '.join(kinds)})")
                ok = False
            elif kinds is not None and (wrong := _arg_problem(kinds[key], value)) is not None:
                self.problem(key_path, f"{wrong}, got {_describe(value)}")
                ok = False
            else:
                items.append((key, value))
        for index, key in enumerate(none_args):
            if not isinstance(key, str) or key in args:
                self.problem(f"{path}.none_args[{index}]", f"expected the name of an argument not in args, got {key!r}")
                ok = False
            elif kinds is not None and (key not in kinds or not _ARG_KINDS_TAKING_NONE & {kinds[key]}):
                self.problem(f"{path}.none_args[{index}]", f"{name} has no argument {key!r} that can be left empty")
                ok = False
            else:
                items.append((key, None))
        return items if ok else None

    def _check_consistency(self, fields: dict[str, Any], actions: tuple[Action, ...], fork: ForkPoint | None) -> None:
        end_t_s = fields.get("end_t_s")
        if end_t_s is None:
            return
        if actions and actions[-1].t_s > end_t_s:
            self.problem(
                f"actions[{len(actions) - 1}].t_s",
                f"action at {actions[-1].t_s} s is after the end of the run ({end_t_s} s)",
            )
        if fork is not None and fork.t_s > end_t_s:
            self.problem("forked_from.t_s", f"fork at {fork.t_s} s is after the end of the run ({end_t_s} s)")

    def _check_unknown(self, table: dict, known: set[str], path: str) -> None:
        for key in table:
            if key not in known:
                full = f"{path}.{_key_text(key)}" if path else _key_text(key)
                self.problem(full, "unknown field (hand-edited or from another program?)")

    def _check_integrity(self, document: dict) -> None:
        table = self.table(document, "integrity", required=False)
        if table is None:
            if "integrity" not in document:
                self.problem("integrity.checksum", "missing: the file looks truncated")
            return
        checksum = self.field(table, "integrity", "checksum", "str")
        if checksum is None:
            return
        if self.problems:
            # A field-level problem already explains what is wrong; a checksum mismatch adds nothing.
            return
        if checksum != _checksum(document):
            self.problem(
                "integrity.checksum",
                "does not match the contents: the save was edited by hand or corrupted",
            )


SAVED_ARG_KINDS: dict[str, dict[str, str]] = {
    "pool.resize": {"pool": "name", "size": "count"},
    "breaker.force_open": {"dependency": "name"},
    "breaker.force_close": {"dependency": "name"},
    "breaker.auto": {"dependency": "name"},
    "shed.set": {"fraction": "fraction", "mode": "mode"},
    "queue.set_limit": {"limit": "limit"},
    "timeout.set": {"dependency": "name", "timeout_s": "timeout"},
    "retry.set": {"dependency": "name", "class": "name", "retries": "count", "backoff_s": "seconds",
                  "jitter": "fraction"},
    "ratelimit.set": {"rate_rps": "number", "burst": "number"},
    "workers.scale": {"workers": "count"},
    "bulkhead.set": {"class": "name", "pool": "name", "size": "count"},
    "fallback.set": {"dependency": "name", "enabled": "bool"},
    "worker.restart": {"worker": "count"},
    "deploy.rollback": {"deploy": "name"},
    "flag.set": {"flag": "name", "enabled": "bool"},
    "cache.coalesce": {"cache": "name", "enabled": "bool"},
    "cache.serve_stale": {"cache": "name", "enabled": "bool"},
}
"""The arguments each action may carry in a save's action log (the keys the engine reads), by
kind. A save whose action has an argument of the wrong kind (a path for a pool size, -1 workers,
true for a count) is an invalid save, not a run that replays differently. Ranges that depend on
the drill (a pool larger than the database allows) are the engine's to refuse, as it did live."""
SAVED_ARG_KINDS.update({
    # A facilitated run's moves (sim.model.facilitation); the engine refuses what is out of range.
    "fault.inject": {"kind": "name", "target": "name", "duration_s": "seconds", "factor": "number",
                     "add_s": "seconds", "rate": "fraction", "period_s": "seconds", "width_s": "seconds",
                     "retransmit_s": "seconds", "hit_ratio": "fraction", "mb_per_s": "number", "count": "count"},
    "fault.cancel": {"fault": "count"},
    "facilitator.message": {"text": "text"},
    "facilitator.note": {"text": "text"},
})

_ARG_KINDS_TAKING_NONE = {"limit", "timeout"}
"""Kinds whose None means something: no queue limit, no timeout (written as none_args)."""


def _arg_problem(kind: str, value: Any) -> str | None:
    """What is wrong with a saved action argument of `kind` (None when it is fine)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if kind == "name":
        return None if isinstance(value, str) and value.strip() else "expected a name"
    if kind == "count":
        return None if whole and value >= 0 else "expected a whole number >= 0"
    if kind == "fraction":
        return None if number and 0.0 <= value <= 1.0 else "expected a fraction from 0 to 1"
    if kind in ("number", "seconds"):
        return None if number and math.isfinite(value) and value >= 0 else "expected a finite number >= 0"
    if kind == "timeout":
        if value == "none" or (number and math.isfinite(value) and value >= 0):
            return None
        return 'expected a timeout in seconds >= 0 or "none"'
    if kind == "limit":
        return None if value == "unbounded" or (whole and value >= 0) else 'expected a queue length >= 0 or "unbounded"'
    if kind == "mode":
        return None if value in ("random", "priority") else 'expected "random" or "priority"'
    if kind == "bool":
        return None if isinstance(value, bool) else "expected true or false"
    if kind == "text":
        return None if isinstance(value, str) else "expected text"
    raise ValueError(f"unknown argument kind {kind!r}")


_KIND_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "text in quotes",
    "list": "a list",
    "table": "a table",
}


def _check_kind(value: Any, kind: str) -> Any:
    """The value converted to `kind`, or _MISSING when it is not of that kind."""
    if kind == "bool":
        return value if isinstance(value, bool) else _MISSING
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISSING
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _MISSING
        return float(value)
    if kind == "str":
        return value if isinstance(value, str) else _MISSING
    if kind == "list":
        return value if isinstance(value, list) else _MISSING
    if kind == "table":
        return value if isinstance(value, dict) else _MISSING
    raise ValueError(f"unknown field kind {kind!r}")


def _key_text(key: str) -> str:
    """A TOML key as it would be written: bare when plain, else quoted (so no newline leaks into a message)."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"text ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------- listing


def list_saves(saves_dir: str | os.PathLike[str] | None = None) -> list[SaveSummary]:
    """Every `*.toml` in the saves folder, newest first; unreadable files carry their error."""
    directory = Path(saves_dir) if saves_dir is not None else default_saves_dir()
    if not directory.is_dir():
        return []
    summaries = []
    for path in directory.glob("*.toml"):
        if path.name.startswith("."):
            continue
        try:
            save = load_save(path)
        except InputError as exc:
            summaries.append(SaveSummary(path=path, error=exc.first_line()))
            continue
        summaries.append(
            SaveSummary(
                path=path,
                drill_id=save.drill_id,
                player=save.player,
                started_at=save.started_at,
                ended=save.ended,
                end_t_s=save.end_t_s,
                score=save.score,
                grade=save.grade,
                forked_from=save.forked_from,
                mode=save.mode,
                blind=save.blind,
            )
        )
    # Newest first; unreadable files (no date) last, by name, so the order is stable.
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    summaries.sort(key=lambda s: s.path.name)
    summaries.sort(key=lambda s: s.started_at or epoch, reverse=True)
    return summaries


def best_scores(saves_dir: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """The best score per drill id among finished, readable saves (for the drill picker).

    A run branched from a replay never counts: it was played with hindsight.
    """
    best: dict[str, float] = {}
    for summary in list_saves(saves_dir):
        if (summary.ok and summary.ended == "finished" and summary.score is not None and summary.drill_id
                and summary.forked_from is None):
            best[summary.drill_id] = max(best.get(summary.drill_id, -math.inf), summary.score)
    return best


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control and format characters (newlines, escape
    sequences, bidirectional overrides) are written as visible escapes like `\\x1b`.

    A player name or a file name in a shared saves folder is anyone's text; printed raw it
    could move the cursor, clear the screen or forge lines of output.
    """
    if text.isprintable():
        return text
    shown = []
    for char in text:
        if char.isprintable() and not unicodedata.category(char).startswith("C"):
            shown.append(char)
        else:
            code = ord(char)
            shown.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(shown)


def format_saves_table(summaries: list[SaveSummary]) -> str:
    """`brownout saves list` output: one line per save with drill, player, date, score."""
    if not summaries:
        return "No saves yet."
    rows = [("FILE", "DRILL", "PLAYER", "DATE (UTC)", "ENDED", "SCORE")]
    for s in summaries:
        if not s.ok:
            rows.append((printable(s.path.name), "-", "-", "-", "unreadable", "-"))
            continue
        score = s.score_text
        ended = s.ended or "-"
        if s.forked_from is not None:
            ended = f"{ended} (branch @{s.forked_from.t_s:g}s, not a best)"
        if s.blind or (s.mode or DEFAULT_MODE.name) != DEFAULT_MODE.name:
            ended = f"{ended} [{s.mode}{', blind' if s.blind else ''}]"
        date = s.started_at.strftime("%Y-%m-%d %H:%M") if s.started_at else "-"
        rows.append((printable(s.path.name), printable(s.drill_id or "-"), printable(s.player or "-"), date, ended, score))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    errors = [f"  {printable(s.error or '')}" for s in summaries if not s.ok]
    if errors:
        lines.append("")
        lines.append("Unreadable saves:")
        lines.extend(errors)
    return "\n".join(lines)
