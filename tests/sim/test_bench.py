"""The benchmark command: its table and its verdict on the speed target (no timing is asserted)."""

from sim.tools.bench import main


def test_bench_reports_its_rows_and_the_speed_target(capsys):
    """`python -m sim.tools.bench` prints one row per time step and judges the default one."""
    assert main(["--minutes", "0.05", "--no-drills", "--dt", "0.05", "0.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-2:] == ["x", "real-time"]
    assert [line.split()[3] for line in out[1:3]] == ["dt=50ms", "dt=100ms"]
    (verdict,) = [line for line in out if line.startswith("speed target:")]
    assert "default dt (50 ms)" in verdict and ">= 500x real time" in verdict and verdict.endswith(("met", "NOT met"))
