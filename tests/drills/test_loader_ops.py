"""The drill fields of the actions an SRE reaches for first: a fault's deploy, a call's
feature and [flags.NAME], a cache's duplicate_misses / stale_ratio / stale_cost, and
[action_delays]. Values land in the spec; each mistake is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.drill.loader import load_drill
from sim.model.errors import InputError

BAD_DEPLOY = Path(__file__).resolve().parents[2] / "drills" / "bad-deploy.toml"


def _variant(tmp_path, old: str, new: str) -> Path:
    text = BAD_DEPLOY.read_text()
    assert old in text
    path = tmp_path / "bad-deploy.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        load_drill(path)
    return [(p.path, p.message) for p in caught.value.problems]


def test_the_new_fields_land_in_the_spec(tmp_path):
    path = _variant(tmp_path, "[[slo]]", '[caches.c]\nhit_ratio = 0.9\nduplicate_misses = 0.5\nstale_ratio = 0.4\n'
                                         'stale_cost = 0.05\n\n[action_delays]\n"flag.set" = "5s"\n'
                                         '"retry.client" = "2m"\n\n[[slo]]')
    drill = load_drill(path)
    assert drill.model.faults[0].deploy == "recs v2.31"
    assert drill.model.classes[0].plan[2].feature == "recommendations"
    assert [(f.name, f.cost) for f in drill.model.flags] == [("recommendations", 0.1)]
    cache = drill.model.caches[0]
    assert (cache.duplicate_misses, cache.stale_ratio, cache.stale_cost) == (0.5, 0.4, 0.05)
    assert drill.model.action_delays == (("flag.set", 5.0), ("retry.client", 120.0))


@pytest.mark.parametrize("old, new, path, words", [
    ('feature = "recommendations"', 'feature = "recs"', "classes[0].plan[2].feature",
     '"recs" is not a feature flag of this drill'),
    ("cost = 0.1", "cost = 2", "flags.recommendations.cost", "2"),
    ('deploy = "recs v2.31"', "deploy = 231", "faults[0].deploy", "the deploy that caused the fault"),
    ("[[slo]]", '[action_delays]\n"flag.sett" = "5s"\n\n[[slo]]', "action_delays.flag.sett",
     'did you mean "flag.set"'),
    ("[[slo]]", '[action_delays]\n"flag.set" = 5\n\n[[slo]]', "action_delays.flag.set", "duration"),
])
def test_a_mistake_names_the_field(tmp_path, old, new, path, words):
    problems = _problems(_variant(tmp_path, old, new))
    assert any(p == path and words in m for p, m in problems), problems


def test_par_names_only_the_drills_flags(tmp_path):
    problems = _problems(_variant(tmp_path, 'flag = "recommendations"\nenabled = false',
                                  'flag = "recomendations"\nenabled = false'))
    assert any(p == "par[0].flag" and "did you mean" in m for p, m in problems), problems
