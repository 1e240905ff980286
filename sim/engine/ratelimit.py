"""The token-bucket rate limiter at the door (off unless a drill or the operator sets it)."""

from __future__ import annotations


class RateLimiter:
    """`rate_rps` tokens a second up to `burst`; an arrival passes if it finds a whole token.

    The slot queue's scan asks it at each arrival's own time, in time order (see
    `SlotQueue.serve`), which is the only order a token bucket gives right answers in.
    """

    def __init__(self, rate_rps: float | None, burst: float):
        self.rate_rps = rate_rps
        """None: no limit."""
        self.burst = burst
        self.tokens = burst
        self.last_t = 0.0
        """When `tokens` was last brought up to date."""

    def set(self, rate_rps: float | None, burst: float, t0: float) -> None:
        """Limit to rate_rps (None: off), the bucket full at `burst` tokens from t0."""
        if rate_rps is None:
            self.rate_rps = None
            return
        self.rate_rps, self.burst = float(rate_rps), float(burst)
        self.tokens, self.last_t = float(burst), t0

    def take(self, times: list[float]) -> list[bool]:
        """The answer to arrivals at `times` (in order), a token each."""
        ok = []
        tokens, last, rate, burst = self.tokens, self.last_t, self.rate_rps, self.burst
        for t in times:
            tokens = min(burst, tokens + (t - last) * rate)
            last = t
            if tokens >= 1.0:
                tokens -= 1.0
                ok.append(True)
            else:
                ok.append(False)
        self.tokens, self.last_t = tokens, last
        return ok
