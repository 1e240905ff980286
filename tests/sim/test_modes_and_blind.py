"""Difficulty modes (which hints show, and when) and blind incidents (neutral names, fresh seeds)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import attrs
import pytest

from sim.drill.blind import draw_blind, fresh_seed, masked, neutral_briefing, pick
from sim.drill.loader import SHIPPED_DRILLS_DIR, load_drill
from sim.drill.modes import GUIDED, MODE_NAMES, ON_CALL, STANDARD, STANDARD_HINT_DELAY_S, hints_due, mode_named, next_mode

SHIPPED = sorted(SHIPPED_DRILLS_DIR.glob("*.toml"))


def test_guided_shows_a_hint_when_it_fires():
    assert hints_due({0: 5.0}, {}, 5.0, GUIDED) == [0]
    assert hints_due({0: 5.0}, {0: 5.0}, 9.0, GUIDED) == [], "a hint shows once"


def test_standard_holds_a_hint_back_for_the_delay():
    fired = {0: 5.0, 1: 20.0}
    assert hints_due(fired, {}, 5.0 + STANDARD_HINT_DELAY_S - 1, STANDARD) == []
    assert hints_due(fired, {}, 5.0 + STANDARD_HINT_DELAY_S, STANDARD) == [0]
    assert hints_due(fired, {0: 65.0}, 20.0 + STANDARD_HINT_DELAY_S, STANDARD) == [1]


def test_on_call_never_shows_a_hint():
    assert hints_due({0: 0.0, 1: 1.0}, {}, 1e6, ON_CALL) == []
    assert not ON_CALL.pause and ON_CALL.max_speed == 1 and not ON_CALL.symptoms


def test_modes_by_name_and_in_turn():
    assert MODE_NAMES == ("guided", "standard", "on-call")
    assert mode_named("on-call") is ON_CALL
    assert [next_mode(GUIDED).name, next_mode(STANDARD).name, next_mode(ON_CALL).name] == ["standard", "on-call", "guided"]
    with pytest.raises(ValueError, match="guided, standard, on-call"):
        mode_named("hard")


def test_the_cli_offers_the_modes_sim_knows():
    from tui.cli import MODE_CHOICES

    assert MODE_CHOICES == MODE_NAMES


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_drill_has_neutral_words_that_do_not_give_it_away(path):
    drill = load_drill(path)
    assert drill.service_name.strip() and drill.service_description.strip()
    text = (drill.service_name + " " + drill.service_description).lower()
    assert drill.title.lower() not in text
    assert drill.id.replace("-", " ") not in text
    # The normal briefing may say what to watch; the neutral one must not steer the trainee.
    assert "watch" not in text


def test_a_blind_name_is_an_incident_number_the_service_and_an_afternoon():
    drill = load_drill(SHIPPED_DRILLS_DIR / "pool-exhaustion.toml")
    blind = draw_blind(drill, random.Random(3))
    assert re.fullmatch(r"Incident \d{4}: product search API, (Mon|Tues|Wednes|Thurs|Fri)day 1[3-7]:[0-5]\d", blind.name)
    shown = masked(drill, blind)
    assert (shown.title, shown.briefing) == (blind.name, drill.service_description.strip())
    assert (shown.id, shown.model, shown.source_sha256) == (drill.id, drill.model, drill.source_sha256)
    assert "campaign" not in shown.briefing.lower(), "the cause is not in the blind briefing"


def test_a_drill_without_neutral_words_gets_them_from_its_model_not_its_faults():
    drill = attrs.evolve(load_drill(SHIPPED_DRILLS_DIR / "retry-storm.toml"), service_name="", service_description="")
    text = neutral_briefing(drill)
    assert "the service" in text and "api" in text and "auth (service)" in text
    assert "retry" not in text.lower() and "storm" not in text.lower()
    assert draw_blind(drill, random.Random(1)).name.split(": ")[1].startswith("the service, ")


def test_a_fresh_seed_is_never_one_already_played():
    class Repeating(random.Random):
        """Draws 5, 5, 9: the first two were played."""

        def __init__(self):
            super().__init__(0)
            self.values = [5, 5, 9]

        def randint(self, low, high):
            return self.values.pop(0)

    assert fresh_seed(Repeating(), {5}) == 9
    rng = random.Random(11)
    seeds = set()
    for _ in range(50):
        seeds.add(fresh_seed(rng, seeds))
    assert len(seeds) == 50


def test_pick_filters_by_difficulty():
    @attrs.frozen
    class Entry:
        id: str
        difficulty: int

    entries = [Entry("a", 1), Entry("b", 3), Entry("c", 3)]
    rng = random.Random(2)
    assert {pick(entries, rng, 3).id for _ in range(20)} == {"b", "c"}
    assert pick(entries, rng, 5) is None
    assert pick(entries, rng).id in {"a", "b", "c"}
