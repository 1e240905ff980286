"""`brownout run DRILL --seeds 1-200 [-j N] [--json]`: a seed sweep, its progress and its summary.

Plain text, no Textual: the headless commands never import the app. The progress
line goes to stderr and only on a terminal; JSON lines go to stdout in seed order
as soon as every earlier seed is done, so a pipe sees results early and Ctrl+C
loses none that finished.
"""

from __future__ import annotations

import json
import signal
import sys
import time

from sim.tools.sweep import SeedOutcome, SweepSpec, summarize, sweep

EXIT_OK = 0
EXIT_SEED_FAILED = 1
EXIT_INTERRUPTED = 130


class ProgressLine:
    """`[#####.....] 37/200 seeds  1m02s` rewritten in place on a terminal's stderr."""

    WIDTH = 30

    def __init__(self, total: int, stream=None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.perf_counter()
        self.done = 0

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        filled = int(self.WIDTH * self.done / max(self.total, 1))
        elapsed = int(time.perf_counter() - self.started)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} seeds  "
                          f"{elapsed // 60}m{elapsed % 60:02d}s")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
            self.stream.flush()


def run_sweep(spec: SweepSpec, seeds: tuple[int, ...], jobs: int, *, as_json: bool, title: str) -> int:
    """Play every seed over `jobs` processes; print JSON lines or the summary; the exit code."""
    started = time.perf_counter()
    progress = ProgressLine(len(seeds))
    outcomes: dict[int, SeedOutcome] = {}
    failed: dict[int, str] = {}
    printed = [0]  # seeds[:printed[0]] are out (JSON lines); a list, so a Ctrl+C cannot lose the count
    interrupted = False
    results = sweep(spec, seeds, jobs)
    try:
        for seed, outcome, error in results:
            if outcome is not None:
                outcomes[seed] = outcome
            else:
                failed[seed] = error
            progress.advance()
            if as_json:
                _flush_json(seeds, printed, outcomes, failed, progress)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        results.close()  # terminates the workers when stopped early
    progress.clear()
    if as_json:
        _flush_json(seeds, printed, outcomes, failed, progress, everything=True)
    for seed in sorted(failed):
        print(f"error: seed {seed}: {failed[seed]}", file=sys.stderr)
    wall_s = time.perf_counter() - started
    if not as_json:
        played = [outcomes[s] for s in seeds if s in outcomes]
        print(format_summary(played, title=title, asked=len(seeds), jobs=jobs, wall_s=wall_s))
    if interrupted:
        print(f"interrupted: {len(outcomes)} of {len(seeds)} seeds finished and reported", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_SEED_FAILED if failed else EXIT_OK


def _flush_json(seeds, printed: list, outcomes, failed, progress: ProgressLine, *, everything: bool = False) -> None:
    """Print the finished seeds in seed order: up to the first unfinished one, or (`everything`) all.
    printed[0]: how many of `seeds` are out; updated before the write."""
    lines = []
    n = printed[0]
    while n < len(seeds) and (seeds[n] in outcomes or seeds[n] in failed or everything):
        seed = seeds[n]
        if seed in outcomes:
            lines.append(json.dumps(outcomes[seed].to_dict(), allow_nan=False))
        n += 1
    if lines:
        progress.clear()
        # A Ctrl+C in the middle of the write would leave half a JSON line, and the lines
        # already out would be printed again by the final flush: hold SIGINT until it is done.
        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            printed[0] = n
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    else:
        printed[0] = n


def _share(x: float) -> str:
    return f"{x:.2%}" if abs(x) < 0.1 else f"{x:.1%}"


def format_summary(outcomes: list[SeedOutcome], *, title: str, asked: int, jobs: int, wall_s: float) -> str:
    """Score and grade distribution and budget spent of the run, do nothing and par over the seeds."""
    head = f"{title}: {len(outcomes)} of {asked} seeds, {jobs} job{'s' if jobs != 1 else ''}, {wall_s:.1f}s wall"
    if not outcomes:
        return head + "\nno seed finished"
    slo_names = [line["slo"] for line in outcomes[0].run["budget_spent"] or ()]
    header = ["response", "mean", "p10", "median", "p90", "min", "max", "A", "B", "C", "D", "F",
              *(f"{name[:16]} spent mean/max" for name in slo_names)]
    rows = [header]
    for dist in summarize(outcomes):
        rows.append([dist.label, f"{dist.mean:.1f}", f"{dist.quantile(0.1):.0f}", f"{dist.quantile(0.5):.0f}",
                     f"{dist.quantile(0.9):.0f}", f"{min(dist.scores):.0f}", f"{max(dist.scores):.0f}",
                     *(str(dist.grades[g]) for g in "ABCDF"),
                     *(f"{_share(m)}/{_share(x)}" for m, x in zip(dist.spent_mean, dist.spent_max))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [head]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                      for i, (cell, w) in enumerate(zip(row, widths))))
    lines.append("  (scores out of 100; the month's error budget each run spent, mean and worst seed)")
    return "\n".join(lines)
