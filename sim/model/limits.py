"""What the engine can run: the bounds the drill loader holds every drill to.

The engine keeps per-tick rings and allocates every worker slot up front, so a
step that is too small, a run with too many ticks or a service with too many
slots does not fail gracefully: it asks for gigabytes, or outruns a ring the
scorer reads. These bounds sit far above any real drill (the shipped ones run
20-100 ms ticks, at most 10,800 ticks and 16,384 slots), and a drill at every
bound runs (tests/drills/test_engine_limits.py). The figures in the notes were
measured on the project's 2-core machine under load.
"""

from __future__ import annotations

MIN_DT_S = 0.001
"""The smallest tick, 1 ms. Rings scale as 1/dt: the latency window keeps
LATENCY_WINDOW_S / dt rows of a 933-bin histogram (37 MB at 1 ms, 37 GB at
1 us), and the headless runner scores every 5 s of sim time from a history of
32,768 ticks (5,000 ticks at 1 ms; at 0.1 ms the 50,000 ticks outrun it). A
tick also costs 0.25-0.5 ms of fixed overhead, so well below 1 ms a drill runs
slower than real time."""

MAX_RUN_TICKS = 2_000_000
"""The most ticks in one drill (duration / dt). The scorer keeps running sums
for every tick (24 + 16 x SLOs bytes) and a replay holds the whole run's history
(~300-400 bytes a tick, plus the same rows in its checkpoints), about 1.5 GB at
this bound. Every drill the default 50 ms step allows (24 h at most: 1,728,000
ticks) stays within it."""

MAX_SLOTS = 100_000
"""The most worker slots, max_workers x concurrency. Every slot is allocated when
the run starts and scanned every tick (0.1-0.3 us a slot): 100,000 slots take
13-32 ms a tick, still inside the default 50 ms step; 10,000 x 10,000 asks for
2.4 GB before the first tick."""

MAX_BREAKER_WINDOW_S = 600.0
"""The longest circuit-breaker window, 10 minutes. Each dependency keeps the
window as a ring of window / dt ticks, summed every tick: 600,000 ticks
(9.6 MB a dependency) at the 1 ms minimum step."""
