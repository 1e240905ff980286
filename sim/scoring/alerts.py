"""SLO pages and tickets: multiwindow, multi-burn-rate alerting, as an on-call engineer gets it.

The rules are the shape the Google SRE workbook recommends ("Alerting on SLOs",
table 5-8): a page when the budget burns fast over a long *and* a short window,
a slower page for a lower burn over longer windows, and a ticket for a slow leak.
The long window says the burn is real (a few bad seconds do not page); the short
window says it is still going on (a page stops as soon as the fix works, not an
hour later).

Drill time is compressed: a drill plays one incident in 5-10 minutes, so the
workbook's windows are scaled by 1/60, **one workbook hour is one drill minute**:

| alert     | workbook (30-day SLO)        | here                              |
|-----------|------------------------------|-----------------------------------|
| FAST BURN | 14.4x over 1 h and 5 min     | 14.4x over 60 s and 5 s   (page)  |
| SLOW BURN | 6x over 6 h and 30 min       | 6x over 360 s and 30 s    (page)  |
| TICKET    | 1x over 3 days and 6 h       | 1x over 72 min and 360 s  (ticket)|

A window reaching back before the drill began counts, for that part, good traffic
at the pre-incident rate (the assumption the month's budget rests on: the service
was healthy before the incident), so a long window is not a short one early in a
drill. A burn rate is the
error ratio over the window divided by the allowed one (1 - target); an SLO with
a loose target cannot burn at 14.4x (a 90 % SLO tops out at 10x), so each rule's
burn is capped at the error ratio it stands for: a fast page at most when half
the requests are bad, a slow page at a quarter, a ticket at a tenth.

Hysteresis: an alert is raised when both its windows burn at its rate, and it
stays up until its long window falls below CLEAR_RATIO of that rate. A burn
hovering at a threshold therefore does not flap; the page clears about half a
long window after the service recovers.

Alerts are judged on the gauge samples of `sim.drill.hints` (every SAMPLE_EVERY_S
of sim time), not on the app's frames: frame sizes follow wall time and speed,
so alerts judged per frame would come at different times each time a run is
played. `sim.scoring.score.SLOTracker.report` replays the same judgement on the
same samples, so a run's `first_page_s` is the page the player saw.
"""

from __future__ import annotations

from typing import Protocol

import attrs


class SLOReading(Protocol):
    """What an alert reads of an SLO (`sim.scoring.score.SLOStatus` is one)."""

    name: str
    target: float
    budget_spent: float

    def burn(self, window_s: float) -> float: ...


@attrs.frozen
class AlertRule:
    """One multiwindow burn-rate alert."""

    word: str
    """The state word shown while the alert is up."""
    page: bool
    """True: it pages the on-call engineer; False: it files a ticket."""
    long_s: float
    short_s: float
    burn: float
    """Burn rate both windows must reach."""
    max_error_ratio: float
    """The burn is capped at max_error_ratio / (1 - target), for loose targets."""

    def threshold(self, target: float) -> float:
        """The burn rate that raises this alert on an SLO with this target."""
        return min(self.burn, self.max_error_ratio / (1.0 - target))


ALERT_RULES = (
    AlertRule("FAST BURN", True, 60.0, 5.0, 14.4, 0.5),
    AlertRule("SLOW BURN", True, 360.0, 30.0, 6.0, 0.25),
    AlertRule("TICKET", False, 4320.0, 360.0, 1.0, 0.1),
)
"""Most severe first. The workbook's windows scaled 1/60 (see the module docstring)."""
ALERT_WINDOWS_S = tuple(sorted({w for rule in ALERT_RULES for w in (rule.long_s, rule.short_s)}))
"""Every window a burn rate is measured over."""
CLEAR_RATIO = 0.5
"""Hysteresis: a raised alert clears once its long window burns below this share of its rate."""
ALERT_WARMUP_S = 5.0
"""No alerts before this much sim time: a burn rate over a handful of requests is noise."""
_RANK = {"OK": 0, **{rule.word: len(ALERT_RULES) - i for i, rule in enumerate(ALERT_RULES)}}
PAGE_WORDS = frozenset(rule.word for rule in ALERT_RULES if rule.page)


def slo_state(status: SLOReading, previous: str) -> tuple[str, str]:
    """(level, word) of an SLO: the most severe alert whose windows both burn at its rate,
    or that was already up (at `previous` or a more severe one) and has not cleared.

    level is "crit" for a page, "warn" for a ticket, "ok" otherwise.
    """
    held = _RANK.get(previous, 0)
    for rule in ALERT_RULES:
        threshold = rule.threshold(status.target)
        long_burn = status.burn(rule.long_s)
        raised = long_burn >= threshold and status.burn(rule.short_s) >= threshold
        kept = held >= _RANK[rule.word] and long_burn >= CLEAR_RATIO * threshold
        if raised or kept:
            return ("crit" if rule.page else "warn"), rule.word
    return "ok", "OK"


@attrs.frozen
class Alert:
    """An SLO's alert state changed: a page or ticket raised (ALERT), or resolved (CLEAR)."""

    t_s: float
    slo: str
    level: str
    word: str
    burn_rate: float
    """The burn over the long window of the alert raised (the 60 s burn on a clear)."""
    budget_spent: float
    """Share of the month's error budget spent by then."""

    @property
    def kind(self) -> str:
        return "CLEAR" if self.word == "OK" else "ALERT"

    @property
    def is_page(self) -> bool:
        return self.word in PAGE_WORDS

    @property
    def text(self) -> str:
        if self.word == "OK":
            return f"SLO {self.slo} resolved (burn {self.burn_rate:.1f}x)"
        what = "PAGE" if self.is_page else "TICKET"
        rule = next(r for r in ALERT_RULES if r.word == self.word)
        return (f"{what} SLO {self.slo} {self.word}: burning {self.burn_rate:.1f}x over {rule.long_s:g}s, "
                f"{self.budget_spent:.2%} of the month's budget spent")


@attrs.define
class AlertWatch:
    """Follows each SLO's alert state over the samples of one run."""

    words: dict[str, str] = attrs.Factory(dict)
    """SLO name -> its state word since the last alert (absent: OK)."""

    def check(self, t_s: float, statuses: tuple[SLOReading, ...]) -> list[Alert]:
        """Judge one sample at sim time t_s; the alerts it raises or clears, in SLO order."""
        if t_s < ALERT_WARMUP_S:
            return []
        alerts = []
        for status in statuses:
            _, word = slo_state(status, self.words.get(status.name, "OK"))
            if word == self.words.get(status.name, "OK"):
                continue
            self.words[status.name] = word
            level = "ok" if word == "OK" else ("crit" if word in PAGE_WORDS else "warn")
            rule = next((r for r in ALERT_RULES if r.word == word), ALERT_RULES[0])
            alerts.append(Alert(t_s, status.name, level, word, status.burn(rule.long_s), status.budget_spent))
        return alerts

    @classmethod
    def after(cls, alerts: tuple[Alert, ...] | list[Alert], t_s: float) -> AlertWatch:
        """The watch's state once the given alerts (in time order) up to t_s have been raised."""
        watch = cls()
        for alert in alerts:
            if alert.t_s > t_s + 1e-9:
                break
            watch.words[alert.slo] = alert.word
        return watch


def first_page_s(alerts: tuple[Alert, ...] | list[Alert]) -> float | None:
    """When the first page went out (None: nobody was paged)."""
    return next((a.t_s for a in alerts if a.is_page), None)
