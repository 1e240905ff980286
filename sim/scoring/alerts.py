"""SLO alerts: when the incident log says an SLO is at risk, burning, breached or clear again.

An alert is judged on the gauge samples of `sim.drill.hints` (every SAMPLE_EVERY_S of sim
time), not on the app's frames: frame sizes follow wall time and speed, so alerts
judged per frame would come at different times each time a run is played, and a
replay could not say which alerts the player had seen before a moment it seeks to.
Judged per sample they depend on the run alone, like hints and symptoms.
"""

from __future__ import annotations

import attrs

from sim.scoring.score import SLOStatus

AT_RISK_BURN = 2.0
"""A 1-minute burn rate above this spends the budget faster than it is earned: warn."""
BURNING_BURN = 10.0
"""At this burn rate the budget is gone within minutes: page."""
ALERT_WARMUP_S = 5.0
"""No SLO alerts before this much sim time: a burn rate over a handful of requests is noise."""
LOW_BUDGET = 0.25
"""Less than this share of the error budget left is a warning even at a gentle burn."""
RECOVERED_BURN = 1.5
"""Hysteresis: an alert clears only when the burn rate falls below this."""


def slo_state(status: SLOStatus, previous: str) -> tuple[str, str]:
    """(level, word) of an SLO: BREACHED when the budget is spent, else by 1-minute burn rate,
    then LOW BUDGET when under a quarter of it is left.

    An alert raised at AT_RISK_BURN stays up until the burn drops below
    RECOVERED_BURN, so a rate hovering at the threshold does not flap.
    """
    if status.budget_remaining < 0:
        return "crit", "BREACHED"
    burn = status.burn_rate_1m
    if burn >= BURNING_BURN:
        return "crit", "BURNING"
    if burn >= AT_RISK_BURN or (previous in ("AT RISK", "BURNING", "BREACHED") and burn >= RECOVERED_BURN):
        return "warn", "AT RISK"
    if status.budget_remaining < LOW_BUDGET:
        return "warn", "LOW BUDGET"
    return "ok", "OK"


@attrs.frozen
class Alert:
    """An SLO changed state: raised (ALERT) or back within budget (CLEAR)."""

    t_s: float
    slo: str
    level: str
    word: str
    burn_rate_1m: float
    budget_remaining: float

    @property
    def kind(self) -> str:
        return "CLEAR" if self.word == "OK" else "ALERT"

    @property
    def text(self) -> str:
        if self.word == "OK":
            return f"SLO {self.slo} back within budget (burn {self.burn_rate_1m:.1f}x)"
        return (f"SLO {self.slo} {self.word}: burn {self.burn_rate_1m:.1f}x (1m), "
                f"{max(self.budget_remaining, 0.0):.0%} of budget left")


@attrs.define
class AlertWatch:
    """Follows each SLO's alert state over the samples of one run."""

    words: dict[str, str] = attrs.Factory(dict)
    """SLO name -> its state word since the last alert (absent: OK)."""

    def check(self, t_s: float, statuses: tuple[SLOStatus, ...]) -> list[Alert]:
        """Judge one sample at sim time t_s; the alerts it raises or clears, in SLO order."""
        if t_s < ALERT_WARMUP_S:
            return []
        alerts = []
        for status in statuses:
            level, word = slo_state(status, self.words.get(status.name, "OK"))
            if word == self.words.get(status.name, "OK"):
                continue
            self.words[status.name] = word
            alerts.append(Alert(t_s, status.name, level, word, status.burn_rate_1m, status.budget_remaining))
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
