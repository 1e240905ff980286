"""Player progress: every finished run of a player, and what it adds up to.

One JSON file per player in the progress folder (`sim.records.home.progress_dir`),
written atomically like saves. A file that is not a progress file (corrupt, cut
short, another program's, another player's) is set aside under a new name and
reported in one line, so nothing is lost silently and nothing raises; the next
run starts a fresh file.

`summarize` turns a profile into the table the progress screen and `brownout
progress` show: per drill the best and latest grade (a branch from a replay, or a
run ended early, never counts as a best), the trend over attempts, the drills never
passed and the suggested next drill.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable

import attrs

try:
    import fcntl
except ImportError:  # Windows: writes stay atomic, concurrent recorders may race
    fcntl = None

from sim.drill.modes import MODE_NAMES
from sim.records.home import progress_dir
from sim.records.saves import END_KINDS, write_atomic
from sim.scoring.score import GRADES

PROGRESS_FORMAT = "brownout-progress"
PROGRESS_VERSION = 1
PASS_SCORE = 70.0
"""A drill is passed with a C or better on a run that counts."""
TREND_KEEP = 8
"""Attempts the trend sparkline shows (the latest ones)."""
SPARKS = "▁▂▃▄▅▆▇█"

_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")
_GRADE_LETTERS = {grade for _, grade in GRADES}


class ProgressError(Exception):
    """The progress file cannot be used (a newer Brownout's, or it cannot be read or written); one line."""


@attrs.frozen
class RunRecord:
    """One finished run, as progress keeps it."""

    drill_id: str
    drill_title: str
    seed: int
    mode: str = attrs.field(validator=attrs.validators.in_(MODE_NAMES))
    blind: bool
    branch: bool
    """Forked from a replay: played with hindsight."""
    ended: str = attrs.field(validator=attrs.validators.in_(END_KINDS))
    score: float | None
    grade: str | None
    budget_spent: tuple[tuple[str, float], ...]
    """(SLO, share of the month's budget this run spent)."""
    started_at: str
    """UTC, ISO 8601 ("2026-12-03T14:02:00Z")."""
    save: str | None = None
    """The save's file name, when the run was saved."""

    @property
    def counts_as_best(self) -> bool:
        """Played to the end, not a branch, graded: only such a run can be a best or a pass."""
        return self.ended == "finished" and not self.branch and self.score is not None and self.grade is not None

    @property
    def passed(self) -> bool:
        return self.counts_as_best and self.score >= PASS_SCORE

    def to_json(self) -> dict[str, Any]:
        return {
            "drill_id": self.drill_id, "drill_title": self.drill_title, "seed": self.seed, "mode": self.mode,
            "blind": self.blind, "branch": self.branch, "ended": self.ended, "score": self.score,
            "grade": self.grade, "budget_spent": [{"slo": slo, "spent": spent} for slo, spent in self.budget_spent],
            "started_at": self.started_at, "save": self.save,
        }


@attrs.frozen
class Profile:
    """A player and their runs, oldest first."""

    player: str
    runs: tuple[RunRecord, ...] = ()


# --------------------------------------------------------------------------- files


def profile_path(player: str, folder: Path | None = None) -> Path:
    """`<player>.json` in the progress folder; a name with unsafe characters gets a short hash so
    two players never share a file."""
    folder = folder if folder is not None else progress_dir()
    safe = _UNSAFE_NAME_RE.sub("_", player).strip("._")[:40] or "player"
    if safe != player:
        safe += "-" + hashlib.sha256(player.encode("utf-8")).hexdigest()[:8]
    return folder / f"{safe}.json"


def _read_profile(path: Path, player: str | None) -> Profile:
    """The profile in `path`; ValueError (one line) when it is not a valid progress file."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not a text file") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != PROGRESS_FORMAT:
        raise ValueError("not a Brownout progress file")
    version = document.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > PROGRESS_VERSION:
        raise ProgressError(f"{path}: written by a newer Brownout (progress version {version}); upgrade to use it")
    if version != PROGRESS_VERSION:
        raise ValueError(f"unknown progress version {version!r}")
    owner = document.get("player")
    if not isinstance(owner, str) or (player is not None and owner != player):
        raise ValueError(f"belongs to player {owner!r}, not {player!r}")
    runs = document.get("runs")
    if not isinstance(runs, list):
        raise ValueError("runs: expected a list")
    return Profile(owner, tuple(_run_from_json(entry, index) for index, entry in enumerate(runs)))


def _run_from_json(entry: Any, index: int) -> RunRecord:
    where = f"runs[{index}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object")

    def field(key: str, kinds: tuple, *, optional: bool = False):
        value = entry.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ValueError(f"{where}.{key}: expected {'/'.join(k.__name__ for k in kinds)}, got {value!r}")
        return value

    score = field("score", (int, float), optional=True)
    if score is not None and not (math.isfinite(score) and 0.0 <= score <= 100.0):
        raise ValueError(f"{where}.score: expected 0 to 100, got {score!r}")
    grade = field("grade", (str,), optional=True)
    if grade is not None and grade not in _GRADE_LETTERS:
        raise ValueError(f"{where}.grade: expected a letter grade, got {grade!r}")
    spent = []
    for line in field("budget_spent", (list,)):
        if not (isinstance(line, dict) and isinstance(line.get("slo"), str)
                and isinstance(line.get("spent"), (int, float)) and not isinstance(line.get("spent"), bool)):
            raise ValueError(f"{where}.budget_spent: expected objects with slo and spent")
        spent.append((line["slo"], float(line["spent"])))
    try:
        return RunRecord(
            drill_id=field("drill_id", (str,)), drill_title=field("drill_title", (str,)), seed=field("seed", (int,)),
            mode=field("mode", (str,)), blind=field("blind", (bool,)), branch=field("branch", (bool,)),
            ended=field("ended", (str,)), score=None if score is None else float(score), grade=grade,
            budget_spent=tuple(spent), started_at=field("started_at", (str,)), save=field("save", (str,), optional=True),
        )
    except ValueError as error:  # the validators: an unknown mode or end
        raise ValueError(f"{where}: {error}") from None


def set_aside(path: Path) -> Path:
    """Rename a bad progress file to `<name>.bad-<UTC stamp>[-N]` beside it, never over another file."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    number = 1
    while True:
        target = path.with_name(f"{path.name}.bad-{stamp}" + (f"-{number}" if number > 1 else ""))
        if not target.exists():
            os.replace(path, target)
            return target
        number += 1


def load_profile(player: str, folder: Path | None = None) -> tuple[Profile, str | None]:
    """The player's profile (empty when there is none yet) and a one-line warning when a bad file
    had to be set aside. Raises ProgressError when the file is a newer Brownout's or unreadable."""
    path = profile_path(player, folder)
    try:
        return _read_profile(path, player), None
    except FileNotFoundError:
        return Profile(player), None
    except ValueError as error:
        try:
            moved = set_aside(path)
        except OSError as move_error:
            raise ProgressError(f"{path}: {error}, and it cannot be set aside: {move_error.strerror or move_error}") from None
        return Profile(player), f"{path}: {error}; set aside as {moved.name}, starting a fresh progress file"
    except OSError as error:
        raise ProgressError(f"{path}: cannot read the progress file: {error.strerror or error}") from None


def _document(profile: Profile) -> dict[str, Any]:
    return {"format": PROGRESS_FORMAT, "version": PROGRESS_VERSION, "player": profile.player,
            "runs": [run.to_json() for run in profile.runs]}


@contextlib.contextmanager
def _locked(folder: Path, path: Path):
    """Hold an exclusive lock beside `path` so two recorders never lose each other's run."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder / f".{path.name}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record_run(player: str, run: RunRecord, folder: Path | None = None) -> tuple[Profile, str | None]:
    """Add a finished run to the player's progress (atomically); returns the profile and any warning.

    Raises ProgressError (one line) when the progress cannot be written.
    """
    folder = folder if folder is not None else progress_dir()
    path = profile_path(player, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder, path):
            profile, warning = load_profile(player, folder)
            profile = attrs.evolve(profile, runs=(*profile.runs, run))
            write_atomic(path, (json.dumps(_document(profile), indent=1) + "\n").encode("utf-8"))
    except OSError as error:
        raise ProgressError(f"{path}: cannot write the progress file: {error.strerror or error}") from None
    return profile, warning


def load_profiles(folder: Path | None = None, players: Iterable[str] | None = None) -> tuple[list[Profile], list[str]]:
    """Profiles of `players` (default: every progress file in the folder, a cohort) and the one-line
    warnings of bad files set aside on the way. Raises ProgressError as `load_profile` does."""
    folder = folder if folder is not None else progress_dir()
    if players is not None:
        profiles, warnings = [], []
        for player in players:
            profile, warning = load_profile(player, folder)
            profiles.append(profile)
            warnings += [warning] if warning else []
        return profiles, warnings
    profiles, warnings = [], []
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError:
        paths = []
    for path in paths:
        try:
            profile = _read_profile(path, None)
        except ValueError as error:
            try:
                moved = set_aside(path)
            except OSError as move_error:
                warnings.append(f"{path}: {error}, and it cannot be set aside: {move_error.strerror or move_error}")
                continue
            warnings.append(f"{path}: {error}; set aside as {moved.name}")
            continue
        except OSError as error:
            warnings.append(f"{path}: cannot read the progress file: {error.strerror or error}")
            continue
        if path != profile_path(profile.player, folder):
            # Another player's file under this name (copied by hand?): not this file's player.
            moved = set_aside(path)
            warnings.append(f"{path}: holds player {profile.player!r}, not the file's; set aside as {moved.name}")
            continue
        profiles.append(profile)
    return profiles, warnings


# --------------------------------------------------------------------------- summary


@attrs.frozen
class DrillProgress:
    """One row of the progress table: a player's record on one drill."""

    player: str
    drill_id: str
    title: str
    difficulty: int | None
    attempts: int
    best: RunRecord | None
    """The best run that counts (played to the end, not a branch); None when none does."""
    latest: RunRecord | None
    scores: tuple[float, ...]
    """Scores of the runs that count, oldest first: the trend."""

    @property
    def passed(self) -> bool:
        return self.best is not None and self.best.passed

    @property
    def trend(self) -> str:
        """The last scores as a sparkline and the change since the one before: `▃▅▇ +12`."""
        scores = self.scores[-TREND_KEEP:]
        if not scores:
            return "-"
        line = "".join(SPARKS[min(int(score / 100 * len(SPARKS)), len(SPARKS) - 1)] for score in scores)
        if len(scores) < 2:
            return line
        change = scores[-1] - scores[-2]
        return f"{line} {change:+.0f}"


@attrs.frozen
class Suggestion:
    """The drill to play next and why."""

    drill_id: str
    title: str
    reason: str


@attrs.frozen
class ProgressSummary:
    """A player's progress table, the drills never passed and the suggested next drill."""

    player: str
    rows: tuple[DrillProgress, ...]
    never_passed: tuple[str, ...]
    """Drill ids without a passing run that counts (played or not)."""
    suggestion: Suggestion | None
    runs: int


def score_text(run: RunRecord | None, *, with_mode: bool = True) -> str:
    """`88 B on-call` (blind runs add "blind"); `(42) ended early`; `-`."""
    if run is None:
        return "-"
    if run.score is None:
        text = "not graded"
    elif run.counts_as_best:
        text = f"{run.score:.0f} {run.grade}"
    else:
        text = f"({run.score:.0f})"
    if run.branch:
        text += " branch"
    elif run.ended != "finished":
        text += " early"
    if with_mode:
        text += f" {run.mode}" + (" blind" if run.blind else "")
    return text


def summarize(profile: Profile, known: dict[str, tuple[str, int]] | None = None) -> ProgressSummary:
    """The progress table of one player over the drills played and the `known` drills (id -> title, difficulty)."""
    known = dict(known or {})
    by_drill: dict[str, list[RunRecord]] = {}
    for run in profile.runs:
        by_drill.setdefault(run.drill_id, []).append(run)
    ids = list(known) + [drill_id for drill_id in by_drill if drill_id not in known]
    rows = []
    for drill_id in ids:
        runs = by_drill.get(drill_id, [])
        counting = [run for run in runs if run.counts_as_best]
        title, difficulty = known.get(drill_id, (runs[-1].drill_title if runs else drill_id, None))
        best = max(counting, key=lambda run: run.score, default=None)
        rows.append(DrillProgress(
            player=profile.player, drill_id=drill_id, title=title, difficulty=difficulty, attempts=len(runs),
            best=best, latest=runs[-1] if runs else None, scores=tuple(run.score for run in counting),
        ))
    never = tuple(row.drill_id for row in rows if not row.passed)
    return ProgressSummary(profile.player, tuple(rows), never, suggest_next(rows), len(profile.runs))


def suggest_next(rows: Iterable[DrillProgress]) -> Suggestion | None:
    """The weakest lesson: the played drill never passed with the lowest best (or latest) score;
    else the easiest drill not played yet; else the passed drill with the lowest best score."""
    rows = list(rows)

    def weakest_score(row: DrillProgress) -> float:
        if row.best is not None:
            return row.best.score
        scored = [run.score for run in (row.latest,) if run is not None and run.score is not None]
        return min(scored, default=0.0)

    failing = [row for row in rows if row.attempts and not row.passed]
    if failing:
        row = min(failing, key=lambda r: (weakest_score(r), r.drill_id))
        why = ("never passed, best " + f"{row.best.score:.0f} {row.best.grade}") if row.best else "never played to the end"
        return Suggestion(row.drill_id, row.title, why)
    fresh = [row for row in rows if not row.attempts]
    if fresh:
        row = min(fresh, key=lambda r: (r.difficulty if r.difficulty is not None else 99, r.drill_id))
        return Suggestion(row.drill_id, row.title, "not played yet")
    passed = [row for row in rows if row.passed]
    if passed:
        row = min(passed, key=lambda r: (r.best.score, r.drill_id))
        return Suggestion(row.drill_id, row.title, f"your weakest pass ({row.best.score:.0f} {row.best.grade})")
    return None


# --------------------------------------------------------------------------- exports

CSV_COLUMNS = ("player", "drill", "title", "attempts", "best_score", "best_grade", "best_mode", "best_blind",
               "best_budget_spent", "latest_score", "latest_grade", "latest_mode", "latest_ended", "trend", "passed",
               "suggested_next")


def table_rows(summaries: Iterable[ProgressSummary]) -> list[dict[str, Any]]:
    """One plain row per player and drill (the CSV and JSON exports)."""
    rows = []
    for summary in summaries:
        suggested = summary.suggestion.drill_id if summary.suggestion else None
        for row in summary.rows:
            best, latest = row.best, row.latest
            rows.append({
                "player": summary.player, "drill": row.drill_id, "title": row.title, "attempts": row.attempts,
                "best_score": None if best is None else round(best.score, 1),
                "best_grade": None if best is None else best.grade,
                "best_mode": None if best is None else best.mode,
                "best_blind": None if best is None else best.blind,
                "best_budget_spent": None if best is None else dict(best.budget_spent),
                "latest_score": None if latest is None or latest.score is None else round(latest.score, 1),
                "latest_grade": None if latest is None else latest.grade,
                "latest_mode": None if latest is None else latest.mode,
                "latest_ended": None if latest is None else ("branch" if latest.branch else latest.ended),
                "trend": list(row.scores),
                "passed": row.passed,
                "suggested_next": row.drill_id == suggested,
            })
    return rows


def to_csv(summaries: Iterable[ProgressSummary]) -> str:
    """The cohort table as CSV (trend as space-separated scores)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in table_rows(summaries):
        spent = row["best_budget_spent"]
        row = dict(row, trend=" ".join(f"{score:.0f}" for score in row["trend"]),
                   best_budget_spent=None if spent is None else " ".join(f"{slo}={share:.4%}" for slo, share in spent.items()))
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()


def to_json(summaries: Iterable[ProgressSummary]) -> str:
    """Every player: the table rows, never passed and the suggestion."""
    players = []
    for summary in summaries:
        players.append({
            "player": summary.player,
            "runs": summary.runs,
            "drills": table_rows([summary]),
            "never_passed": list(summary.never_passed),
            "suggested_next": None if summary.suggestion is None else attrs.asdict(summary.suggestion),
        })
    return json.dumps({"players": players}, indent=2, ensure_ascii=False)
