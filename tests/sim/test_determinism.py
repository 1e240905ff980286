"""Same model + seed + actions => identical metrics; another seed => different ones."""

import numpy as np

from sim.tools.bench import reference_model
from sim.engine.simulation import Simulation
from sim.model.spec import Action

ACTIONS = (
    Action(5.0, "pool.resize", {"pool": "main", "size": 30}),
    Action(8.0, "breaker.force_open", {"dependency": "llm"}),
    Action(12.0, "shed.set", {"fraction": 0.2}),
)


def _run(seed: int) -> Simulation:
    sim = Simulation(reference_model(rate_rps=300), seed)
    for action in ACTIONS:
        sim.run_until(action.t_s)
        sim.apply(action)
    sim.run_until(20.0)
    return sim


def test_same_seed_and_actions_give_identical_history():
    a, b = _run(5), _run(5)
    assert a.digest() == b.digest()
    for name in a.history.names:
        np.testing.assert_array_equal(a.history.series(name), b.history.series(name), err_msg=name)
    assert a.result() == b.result()
    assert a.action_log == b.action_log


def test_different_seeds_differ():
    a, b = _run(5), _run(6)
    assert a.digest() != b.digest()
    assert not np.array_equal(a.history.series("completed"), b.history.series("completed"))


def test_checkpoint_restore_replays_exactly():
    sim = Simulation(reference_model(rate_rps=300), 9)
    sim.run_until(4.0)
    cp = sim.checkpoint()
    sim.run_until(10.0)
    first = (sim.digest(), sim.result())
    sim.restore(cp)
    assert sim.t_s == 4.0
    sim.run_until(10.0)
    assert (sim.digest(), sim.result()) == first


def test_fork_is_an_independent_copy_that_plays_on_identically():
    sim = Simulation(reference_model(rate_rps=300), 9)
    sim.run_until(4.0)
    fork = sim.fork()
    sim.run_until(10.0)
    assert fork.t_s == 4.0 and fork.history.written == 80, "stepping the original must not move the fork"
    fork.run_until(10.0)
    assert (fork.digest(), fork.result()) == (sim.digest(), sim.result())
    np.testing.assert_array_equal(fork.history.series("completed"), sim.history.series("completed"))
    # Diverging futures: an action on the fork leaves the original alone.
    fork.apply(Action(10.0, "shed.set", {"fraction": 0.5}))
    fork.run_until(17.0)  # past the shedding rule's delay
    sim.run_until(17.0)
    assert fork.digest() != sim.digest()
    assert sim.action_log == ()

