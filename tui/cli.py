"""The `brownout` command: the app, and headless commands for scripts and CI.

    brownout [--saves DIR] [--player NAME]          open the app on the drill picker
    brownout play DRILL [--seed N] [--mode M]        open the app on a drill's briefing
    brownout play --blind [--difficulty N] [--mode M]  a blind incident: a random drill, fresh seed
                                                     (--saves, --player also after the subcommand)
    brownout progress [--player NAME] [--json|--csv] each player's progress (all players by default)
    brownout play DRILL --host [--listen HOST:PORT]  host it: a facilitator and spectators may join
    brownout facilitate CODE [--connect HOST:PORT]   steer a hosted drill
    brownout watch CODE [--connect HOST:PORT]        watch a hosted drill read-only
    brownout serve watch CODE [--port N]             the same, in web browsers (extra: serve)
    brownout --version
    brownout run DRILL [--seed N | --seeds 1-200 [-j N]] [--actions FILE | --policy none|par]
                       [--runbook FILE] [--json] [--junit FILE] [--save]
    brownout replay SAVE [--verify]
    brownout report SAVE [-o FILE] [--html]          a postmortem draft of a saved run
    brownout saves list [--saves DIR]
    brownout drills list
    brownout drills validate FILE...
    brownout drills check [DRILL...] [--seeds N]
    brownout bench [DRILL...] [--app]

Exit codes: 0 ran; 1 a check failed (`drills validate`, `drills check`, `replay --verify`);
2 bad input (unknown drill, invalid drill, actions, runbook or save file, bad
options; `report` without matplotlib) with a one-line error on stderr naming the file and field. Headless
commands never import Textual: the app is imported only when it is opened.
"""

from __future__ import annotations

import os
import signal
import sys


def _quiet_exit_on_interrupt(signum, frame):
    # Ctrl+C while still starting up (the imports below take a while): no traceback.
    raise SystemExit(130)


if __name__ == "__main__" or os.path.basename(sys.argv[0]) in ("brownout", "brownout.exe"):
    # First thing, before the heavy imports; run_cli puts KeyboardInterrupt back once it can
    # handle it. Not when the module is merely imported (tests, scripts): that is their Ctrl+C.
    signal.signal(signal.SIGINT, _quiet_exit_on_interrupt)

import argparse
import json
import math
from pathlib import Path

from sim.model.errors import InputError

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line usage; the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (no usage dump), exit 2."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _add_app_options(parser: argparse.ArgumentParser, *, default) -> None:
    parser.add_argument("--saves", metavar="DIR", default=default,
                        help="folder for saved runs (default $BROWNOUT_SAVES, else brownout/saves in the user data folder)")
    parser.add_argument("--player", metavar="NAME", default=default, help="player name recorded in saves")


def version_text() -> str:
    """`brownout 0.1.0 (engine 1, save format 1)`: the installed version and what it reads and writes."""
    from importlib import metadata

    from sim import ENGINE_VERSION
    from sim.records.saves import FORMAT_VERSION

    try:
        version = metadata.version("brownout")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    return f"brownout {version} (engine {ENGINE_VERSION}, save format {FORMAT_VERSION})"


def _seeds(text: str) -> tuple[int, ...]:
    from sim.tools.sweep import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    value = _seed(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


MODE_CHOICES = ("guided", "standard", "on-call")
"""sim.drill.modes.MODE_NAMES, spelt out so `--help` needs no sim import (a test checks they agree)."""


def _difficulty(text: str) -> int:
    value = _seed(text)
    if not 1 <= value <= 5:
        raise argparse.ArgumentTypeError(f"expected a difficulty from 1 to 5, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The `brownout` argument parser with every subcommand."""
    parser = _Parser(prog="brownout", description="A terminal incident trainer.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _add_app_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # The app's options work after the subcommand too (`brownout play X --player ada`); SUPPRESS
    # keeps a value given before the subcommand when none is given after it.
    app_options = _Parser(add_help=False)
    _add_app_options(app_options, default=argparse.SUPPRESS)

    play = commands.add_parser("play", help="open the app on a drill's briefing", parents=[app_options])
    play.add_argument("drill", metavar="DRILL", nargs="?",
                      help="a shipped drill id or a path to a drill TOML file (not with --blind)")
    play.add_argument("--seed", type=_seed, help="random seed (default: the drill's)")
    play.add_argument("--blind", action="store_true",
                      help="a blind incident: a random shipped or user drill on a fresh seed, under a neutral name")
    play.add_argument("--difficulty", type=_difficulty, metavar="N", help="with --blind: only drills of difficulty N (1-5)")
    play.add_argument("--mode", choices=MODE_CHOICES, default="guided",
                      help="guided (hints, pause, any speed), standard (hints after a delay), "
                           "on-call (no hints, no pause, 1x); the briefing can still change it")

    progress = commands.add_parser("progress", help="players' progress: best and latest grade per drill, what next")
    progress.add_argument("--player", metavar="NAME", default=argparse.SUPPRESS,
                          help="one player (default: every player: a cohort's table)")
    progress_format = progress.add_mutually_exclusive_group()
    progress_format.add_argument("--json", action="store_true", help="print JSON")
    progress_format.add_argument("--csv", action="store_true", help="print CSV (one row per player and drill)")
    from tui.facilitation import cli as facilitation_cli

    facilitation_cli.add_play_options(play)
    facilitation_cli.add_commands(commands, _Parser)

    run = commands.add_parser("run", help="run a drill headless and print its score", parents=[app_options])
    run.add_argument("drill", metavar="DRILL", help="a shipped drill id or a path to a drill TOML file")
    seeds = run.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, help="random seed (default: the drill's)")
    seeds.add_argument("--seeds", type=_seeds, metavar="SEEDS",
                       help='many seeded variants, e.g. "1-200" or "1,5,9": a summary (or JSON lines)')
    run.add_argument("-j", "--jobs", type=_positive, metavar="N",
                     help="with --seeds, worker processes (default: the cores)")
    run.add_argument("--save", action="store_true",
                     help="also write a replayable save (one per seed) into --saves DIR or the saves folder")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--actions", metavar="FILE", help="TOML file of timed actions ([[actions]] at, action, args)")
    source.add_argument("--policy", choices=("none", "par"), help="do nothing, or play the drill's par solution")
    run.add_argument("--runbook", metavar="FILE", help="TOML runbook: [[rules]] when, do, args, once")
    run.add_argument("--json", action="store_true",
                     help="print one JSON object instead of tables (with --seeds, one per seed: JSON lines)")
    run.add_argument("--junit", metavar="FILE", help="also write JUnit XML, one test case per SLO")

    replay = commands.add_parser("replay", help="open a save in the replay viewer, or verify it",
                                 parents=[app_options])
    replay.add_argument("save", metavar="SAVE", help="a save file")
    replay.add_argument("--verify", action="store_true", help="re-simulate headless and check the digest")

    report = commands.add_parser("report", help="write a postmortem draft of a saved run (needs brownout[report])")
    report.add_argument("save", metavar="SAVE", help="a save file")
    report.add_argument("-o", "--output", metavar="FILE",
                        help="the Markdown file (default <save name>-postmortem.md here); charts go beside it")
    report.add_argument("--html", action="store_true", help="also write one self-contained HTML file")

    saves = commands.add_parser("saves", help="saved runs")
    saves_commands = saves.add_subparsers(dest="saves_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
    saves_list = saves_commands.add_parser("list", help="list saves with drill, player, date and score")
    saves_list.add_argument("--saves", dest="saves_dir", metavar="DIR", help="folder of saves")

    drills = commands.add_parser("drills", help="shipped and user drills")
    drills_commands = drills.add_subparsers(dest="drills_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
    drills_list = drills_commands.add_parser("list", help="list the drills you can play (fits 80 columns)")
    drills_list.add_argument("--long", action="store_true", help="also each drill's SLOs (wide)")
    validate = drills_commands.add_parser("validate", help="check drill files and print every problem")
    validate.add_argument("files", metavar="FILE", nargs="+", help="drill TOML files")
    check = drills_commands.add_parser("check", help="play each drill's ladder on N seeds; exit 1 if one is ill posed")
    check.add_argument("drills", metavar="DRILL", nargs="*", help="drill ids or files (default: every shipped drill)")
    check.add_argument("--seeds", type=_positive, default=6, metavar="N", help="seeds 1..N (default 6)")

    bench = commands.add_parser("bench", help="simulated requests per wall second, per shipped drill")
    bench.add_argument("drills", metavar="DRILL", nargs="*", help="drill ids or files (default: every shipped drill)")
    bench.add_argument("--app", action="store_true",
                       help="the app's achieved speed at 50x (headless) beside the engine alone, and UI lag")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `brownout` console script; returns (and exits with) the exit code."""
    code = run_cli(sys.argv[1:] if argv is None else argv)
    if argv is None:
        sys.exit(code)
    return code


def run_cli(argv: list[str]) -> int:
    """Parse and dispatch; every bad input becomes one stderr line and exit code 2."""
    try:
        if signal.getsignal(signal.SIGINT) is _quiet_exit_on_interrupt:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.version:
            print(version_text())
            return EXIT_OK
        return _dispatch(args)
    except UsageError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    except InputError as error:
        _error(error.first_line())
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`brownout run X | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _error(message: str) -> None:
    from sim.records.saves import printable  # a file name or a quoted value may hold escape sequences

    print(f"error: {printable(message)}", file=sys.stderr)


def _dispatch(args) -> int:
    command = args.command
    if command is None:
        return _open_app(args)
    if command == "play":
        return _play(args)
    if command == "progress":
        return _progress(args)
    if command == "run":
        return _run(args)
    if command in ("facilitate", "watch", "serve"):
        from tui.facilitation import cli as facilitation_cli

        return facilitation_cli.run(args)
    if command == "replay":
        return _replay(args)
    if command == "report":
        return _report(args)
    if command == "saves":
        return _saves_list(args)
    if command == "drills":
        if args.drills_command == "check":
            return _drills_check(args.drills, args.seeds)
        return _drills_list(args.long) if args.drills_command == "list" else _drills_validate(args.files)
    return _bench(args.drills, app=args.app)


# --------------------------------------------------------------------------- app


def _play(args) -> int:
    if args.blind:
        if args.drill is not None:
            raise UsageError("brownout play: give a DRILL or --blind, not both (a blind incident draws its drill)")
        if args.seed is not None:
            raise UsageError("brownout play: --seed does not go with --blind (a blind incident draws a fresh seed)")
        if args.difficulty is not None:
            from sim.drill.loader import list_drills

            if not any(s.difficulty == args.difficulty for s in list_drills()):
                raise UsageError(f"brownout play: --difficulty {args.difficulty}: no drill of that difficulty")
        return _open_app(args, mode=args.mode, blind=True, blind_difficulty=args.difficulty)
    if args.drill is None:
        raise UsageError("brownout play: give a DRILL, or --blind for a random one")
    if args.difficulty is not None:
        raise UsageError("brownout play: --difficulty goes with --blind only")
    return _open_app(args, drill=args.drill, seed=args.seed, mode=args.mode)


def _open_app(args, *, drill: str | None = None, seed: int | None = None, replay: str | None = None,
              **options) -> int:
    from sim.drill.loader import find_drill, load_drill

    kwargs = dict(options)
    if args.saves:
        kwargs["saves_dir"] = Path(args.saves)
    if args.player:
        kwargs["player"] = args.player
    if drill is not None:
        # Load before the app starts, so a bad drill is one stderr line, not a dialog.
        kwargs["drill"] = load_drill(find_drill(drill), seed)
    if replay is not None:
        kwargs["replay"] = Path(replay)
    if getattr(args, "host", False) or getattr(args, "listen", None):
        from tui.facilitation import cli as facilitation_cli
        from tui.facilitation.joining import JoinError

        try:
            kwargs["listen"] = facilitation_cli.listen_address(args)
        except JoinError as error:
            raise UsageError(f"brownout play: --listen: {error}") from None
        kwargs["host"] = True
        if kwargs["listen"] is not None:
            print(facilitation_cli.listen_warning(kwargs["listen"]), file=sys.stderr)
    from tui.app import run_app  # only now: headless commands never import Textual

    # Non-zero when the app stopped on an error (1) or a signal (128+N): a crash is never "ran fine".
    return run_app(**kwargs) or EXIT_OK


# --------------------------------------------------------------------------- run


def _run(args) -> int:
    from sim.running.actions_file import load_actions
    from sim.drill.loader import find_drill, load_drill
    from sim.running.headless import run_drill
    from sim.running.runbook import load_runbook

    drill = load_drill(find_drill(args.drill), args.seed)
    if args.actions:
        actions, policy = load_actions(args.actions, drill), "actions"
    elif args.policy == "par":
        actions, policy = drill.par, "par"
    else:
        actions, policy = (), "none"
    runbook = load_runbook(args.runbook, drill) if args.runbook else None
    if runbook is not None:
        policy += "+runbook"
    if args.seeds is not None:
        return _run_seeds(args, drill, policy)
    if args.jobs is not None:
        raise UsageError("brownout run: -j/--jobs goes with --seeds")
    if args.junit:
        _check_writable(args.junit)
    run = run_drill(drill, args.seed, actions=actions, runbook=runbook, policy=policy)
    if args.save:
        from sim.tools.sweep import save_headless

        try:
            saved = save_headless(run, args.saves, args.player or "headless")
        except (ValueError, OSError) as error:
            raise InputError.single(args.saves or "saves folder", f"cannot write the save: {error}") from None
        print(f"Saved to {saved}", file=sys.stderr if args.json else sys.stdout, flush=True)
    # The report first: if the JUnit file cannot be written after all, the run is not lost.
    if args.json:
        print(json.dumps(run.to_dict(), indent=2, allow_nan=False), flush=True)
    else:
        _print_run(run)
    if args.junit:
        from sim.running.junit import write_junit

        try:
            write_junit(args.junit, [run])
        except OSError as error:
            raise InputError.single(args.junit, f"cannot write the JUnit file: {error.strerror or error}") from None
    return EXIT_OK


def _run_seeds(args, drill, policy: str) -> int:
    """`run --seeds`: the drill (already loaded once, so bad input fails here) on every seed."""
    from sim.drill.loader import find_drill
    from sim.tools.sweep import SweepSpec, default_jobs
    from tui.sweep_command import run_sweep

    if args.junit:
        raise UsageError("brownout run: --junit takes one run, not --seeds")
    save_dir = None
    if args.save:
        from sim.records.saves import default_saves_dir

        save_dir = str(Path(args.saves) if args.saves else default_saves_dir())
    spec = SweepSpec(
        drill_path=str(find_drill(args.drill).resolve()), policy=policy,
        actions_path=str(Path(args.actions).resolve()) if args.actions else None,
        runbook_path=str(Path(args.runbook).resolve()) if args.runbook else None,
        save_dir=save_dir, player=args.player or "headless",
    )
    jobs = args.jobs or default_jobs()
    title = f"{drill.title} ({drill.id}), policy {policy}"
    return run_sweep(spec, args.seeds, jobs, as_json=args.json, title=title)


def _check_writable(path: str) -> None:
    # Fail before a long run, not after it.
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise InputError.single(path, f"cannot write the JUnit file: folder {folder} does not exist")
    if Path(path).is_dir():
        raise InputError.single(path, "cannot write the JUnit file: it is a folder")
    import tempfile

    # Try it: os.access says yes to root on a read-only mount, and permissions are not the only obstacle.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".brownout-junit-check-"):
            pass
    except OSError as error:
        raise InputError.single(
            path, f"cannot write the JUnit file: folder {folder}: {error.strerror or error}"
        ) from None


def _fmt(value, pattern: str = "{:.1f}", none: str = "-") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return none
    return pattern.format(value)


def _share(x: float) -> str:
    """A share of a month's budget: more digits when small."""
    return f"{x:.2%}" if abs(x) < 0.1 else f"{x:.1%}"


def _print_run(run) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # Rich exits 1 here; the reader going away (`| head`) is not an error: run_cli ends quietly.
            raise BrokenPipeError

    # Wide enough for the tables when piped (Rich assumes 80 columns without a terminal).
    console = _Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    data = run.to_dict()
    report = run.report
    console.print(
        f"[bold]{escape(run.drill.title)}[/] ({run.drill.id}), seed {run.seed}, policy {run.policy}: "
        f"{data['duration_s']:g}s simulated in {run.wall_s:.1f}s"
    )

    requests = data["requests"]
    table = Table(title="Requests", box=box.SIMPLE, title_justify="left")
    for column in ("arrivals", "retries", "admitted", "completed", "failed", "rejected", "in flight"):
        table.add_column(column, justify="right")
    table.add_row(
        str(requests["arrivals"]), str(requests["retries"]), str(requests["admitted"]), str(requests["completed"]),
        str(requests["failed"]["total"]), str(requests["rejected"]["total"]), str(requests["in_flight"]),
    )
    console.print(table)
    reasons = [f"{k} {v}" for k, v in requests["failed"].items() if k != "total" and v]
    reasons += [f"{k} {v}" for k, v in requests["rejected"].items() if k != "total" and v]
    if reasons:
        console.print("  failed/rejected by reason: " + ", ".join(reasons))
    latency = data["latency_ms"]
    console.print(
        "  latency of successes (ms): "
        + ", ".join(f"{k} {_fmt(latency[k])}" for k in ("mean", "p50", "p95", "p99"))
    )

    verdict = report.verdict
    spent = {line.slo: line for line in verdict.spent} if verdict else {}
    slos = Table(title="SLOs (budgets are the month's: the drill is one incident in the SLO's window)",
                 box=box.SIMPLE, title_justify="left")
    for column, justify in (("SLO", "left"), ("target", "right"), ("attained", "right"), ("degraded", "right"),
                            ("month budget spent", "right"), ("do nothing", "right"), ("par", "right"),
                            ("burn 1m max", "right")):
        slos.add_column(column, justify=justify, no_wrap=True)
    for sli in report.slis:
        target = f"{sli.target:.2%}" + (f" <={sli.threshold_s * 1000:g}ms" if sli.threshold_s is not None else "")
        line = spent.get(sli.name)
        slos.add_row(
            Text(sli.name),  # the drill author's text, not markup
            target,
            f"{sli.attained:.2%}",
            str(sli.degraded),
            _share(sli.budget_spent),
            _share(line.none) if line else "-",
            _share(line.par) if line else "-",
            _fmt(sli.burn_rate_1m_max),
        )
    console.print(slos)
    pages = [a for a in report.alerts if a.kind == "ALERT"]
    console.print(
        f"  first page: {_fmt(report.first_page_s, '{:.0f}s', 'none')}"
        + (f" ({', '.join(f'{a.t_s:.0f}s {a.slo} {a.word}' for a in pages[:4])})" if pages else ""),
        markup=False,  # SLO names are the drill author's text
    )
    if verdict is None:
        console.print("  not graded")
    else:
        acted = "-" if verdict.acted_at_s is None else f"{verdict.acted_at_s:.0f}s"
        par_acted = "-" if verdict.par_acted_at_s is None else f"{verdict.par_acted_at_s:.0f}s"
        console.print(f"  the action that helped: yours at {acted}, par's at {par_acted}")
        score = Table(title=f"Score {report.score:.1f} / 100, grade {report.grade}", box=box.SIMPLE,
                      title_justify="left")
        score.add_column("item")
        score.add_column("points", justify="right")
        score.add_column("why")
        for line in report.breakdown:
            score.add_row(Text(line.item), f"{line.points:.1f} / {line.max_points:g}", Text(line.detail))
        console.print(score)

    events = data["events"]
    if events:
        console.print(f"Events ({len(events)}):")
        for event in events[:20]:
            console.print(f"  {event['t_s']:7.2f}s  {event['kind']:<15} {event['message']}", markup=False)
        if len(events) > 20:
            console.print(f"  ... {len(events) - 20} more (see --json)")
    for firing in run.firings:
        console.print(f"  runbook: {firing.t_s:7.2f}s  {firing.rule} -> {firing.action.name}", markup=False)


# --------------------------------------------------------------------------- replay, saves


def _replay(args) -> int:
    if args.verify:
        from sim.records.replay import verify_save
        from sim.running.headless import compare

        from sim.records.saves import printable

        result = verify_save(args.save, references=compare)
        print(printable(result.message), file=sys.stdout if result.ok else sys.stderr)
        return result.exit_code
    from sim.records.saves import load_save

    load_save(args.save)  # a bad save is one stderr line here, before the app starts
    return _open_app(args, replay=args.save)


def _report(args) -> int:
    from tui.report.charts import ReportUnavailable
    from tui.report.export import export_report

    try:
        files = export_report(args.save, args.output, html=args.html)
    except ReportUnavailable as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    for path in files.paths:
        print(path)
    return EXIT_OK


def _progress(args) -> int:
    from sim.drill.loader import list_drills
    from sim.records.progress import ProgressError, load_profiles, summarize, to_csv, to_json
    from sim.records.saves import printable

    try:
        profiles, warnings = load_profiles(players=[args.player] if args.player else None)
    except ProgressError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    for warning in warnings:
        print(f"warning: {printable(warning)}", file=sys.stderr)
    known: dict[str, tuple[str, int]] = {}
    for s in list_drills():
        known.setdefault(s.id, (s.title, s.difficulty))
    summaries = [summarize(profile, known) for profile in profiles]
    if args.json:
        print(to_json(summaries))
    elif args.csv:
        print(to_csv(summaries), end="")
    else:
        print(_progress_text(summaries))
    return EXIT_OK


def _progress_text(summaries) -> str:
    from sim.records.progress import score_text
    from sim.records.saves import printable

    if not summaries:
        return "No progress recorded yet: play a drill to the end."
    blocks = []
    for summary in summaries:
        header = ("DRILL", "TRIES", "BEST", "LATEST", "TREND")
        rows = [(printable(r.drill_id), str(r.attempts), score_text(r.best), score_text(r.latest), r.trend)
                for r in summary.rows if r.attempts]
        lines = [f"{printable(summary.player)}: {summary.runs} run(s)"]
        if rows:
            widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
            lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
        never = [printable(r.drill_id) for r in summary.rows if not r.passed]
        if never:
            lines.append("  never passed: " + ", ".join(never))
        if summary.suggestion is not None:
            lines.append(f"  next: {printable(summary.suggestion.drill_id)} ({printable(summary.suggestion.reason)})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _saves_list(args) -> int:
    from sim.records.saves import default_saves_dir, format_saves_table, list_saves

    folder = args.saves_dir or args.saves
    directory = Path(folder) if folder else default_saves_dir()
    if folder and not directory.is_dir():
        raise InputError.single(folder, "no such saves folder")
    print(format_saves_table(list_saves(directory)))
    return EXIT_OK


# --------------------------------------------------------------------------- drills


DRILLS_LIST_WIDTH = 80
"""`drills list` fits a standard terminal: the title column takes what the others leave."""


def _drills_list(long: bool = False) -> int:
    from sim.drill.loader import list_drills
    from sim.records.saves import printable

    summaries = list_drills()
    if not summaries:
        print("No drills found.")
        return EXIT_OK
    header = ("ID", "TITLE", "LEVEL", "LENGTH") + (("SLOS",) if long else ()) + ("SOURCE",)
    rows = []
    for s in summaries:
        row = [s.id, printable(s.title), "*" * s.difficulty, _length(s.duration_s)]
        if long:
            row.append(", ".join(
                f"{slo.name} {slo.target:.2%}" + (f" <={slo.threshold_s * 1000:g}ms" if slo.threshold_s else "")
                for slo in s.slos
            ))
        rows.append((*row, s.source))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    if not long:
        others = sum(widths) - widths[1] + 2 * (len(widths) - 1)
        widths[1] = max(len(header[1]), min(widths[1], DRILLS_LIST_WIDTH - others))
        rows = [(row[0], _clip(row[1], widths[1]), *row[2:]) for row in rows]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return EXIT_OK


def _length(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes and rest else f"{minutes}m" if minutes else f"{rest}s"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _drills_validate(files: list[str]) -> int:
    from sim.drill.loader import validate_drill_file
    from sim.records.saves import printable

    failed = 0
    for file in files:
        problems = validate_drill_file(file)
        if problems:
            failed += 1
            print(f"{printable(file)}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
            for problem in problems:
                print(f"  {printable(str(problem))}", file=sys.stderr)
        else:
            print(f"{printable(file)}: ok")
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _drills_check(drills: list[str], seeds: int) -> int:
    from sim.drill.loader import SHIPPED_DRILLS_DIR, find_drill
    from sim.running.check import check_drill, format_check

    paths = [find_drill(d) for d in drills] if drills else sorted(SHIPPED_DRILLS_DIR.glob("*.toml"))
    ill = 0
    for path in paths:
        check = check_drill(path, tuple(range(1, seeds + 1)))
        print(format_check(check), flush=True)
        ill += not check.ok
    print(f"{len(paths) - ill} of {len(paths)} drills well posed on {seeds} seed{'s' if seeds != 1 else ''}")
    return EXIT_CHECK_FAILED if ill else EXIT_OK


# --------------------------------------------------------------------------- bench


def _bench(drills: list[str], *, app: bool = False) -> int:
    from sim.tools.bench import bench_drills
    from sim.drill.loader import SHIPPED_DRILLS_DIR, find_drill

    paths = [find_drill(d) for d in drills] if drills else sorted(SHIPPED_DRILLS_DIR.glob("*.toml"))
    if app:
        from sim.drill.loader import load_drill
        from tui.bench_app import bench_app, format_rows  # imports Textual: only for --app

        rows = []
        for path in paths:
            rows.append(bench_app(load_drill(path)))
            print(f"{rows[-1].drill_id}: app {rows[-1].app_speed:.1f}x, engine {rows[-1].engine_speed:.1f}x",
                  file=sys.stderr, flush=True)
        print(format_rows(rows))
        return EXIT_OK
    rows = bench_drills(paths)
    header = ("DRILL", "SIM S", "REQUESTS", "WALL S", "REQ/WALL S", "x REAL-TIME")
    lines = [header]
    for row in rows:
        lines.append((
            row.drill_id, f"{row.sim_s:g}", f"{row.requests:,}", f"{row.wall_s:.2f}",
            f"{row.requests_per_wall_s:,.0f}", f"{row.times_realtime:,.1f}",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))))
    return EXIT_OK


if __name__ == "__main__":
    main()
