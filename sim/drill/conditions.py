"""A small condition language over the live gauges, for drill hints and runbooks.

    p95_ms > 300
    error_rate >= 0.05 for 10s
    queue_depth > 100 and (p99_ms > 1000 or breaker_llm_open == 1)

Grammar (no eval(); a hand-written recursive-descent parser):

    condition  := or_expr [ "for" DURATION ]
    or_expr    := and_expr { "or" and_expr }
    and_expr   := unary { "and" unary }
    unary      := "not" unary | "(" or_expr ")" | METRIC OP NUMBER
    OP         := ">" | ">=" | "<" | "<=" | "==" | "!="
    NUMBER     := a decimal number, optionally with "%" (5% = 0.05)

Metrics are the numeric `Gauges` fields plus derived ones (see METRICS).
Pool and breaker metrics name a pool or dependency of the drill
(`pool_main_in_use`, `breaker_llm_open`); the parser accepts any name there and
the drill loader checks the names against the drill.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Union

import attrs

from sim.model.observe import BREAKER_OPEN, Gauges
from sim.model.units import UnitError, parse_duration_s

_GAUGE_METRICS = (
    "t_s", "tick", "busy_slots", "total_slots", "live_workers", "target_workers",
    "queue_depth", "queue_limit", "in_flight", "memory_limit_mb", "memory_pressure_mb",
    "arrival_rps", "fresh_rps", "retry_rps", "goodput_rps", "error_rps", "reject_rps",
    "p50_ms", "p95_ms", "p99_ms", "shed_fraction", "ratelimit_rps", "memory_mb",
)
_DERIVED_METRICS = ("error_rate", "reject_rate", "slot_utilization", "memory_fraction")
METRICS = _GAUGE_METRICS + _DERIVED_METRICS
"""Metric names that need no drill-specific name."""

POOL_METRIC_SUFFIXES = ("in_use", "waiters", "size")
_POOL_METRIC = re.compile(r"pool_(?P<name>.+)_(?P<field>in_use|waiters|size)")
_BREAKER_METRIC = re.compile(r"breaker_(?P<name>.+)_open")
METRIC_PATTERNS = ("pool_<name>_in_use", "pool_<name>_waiters", "pool_<name>_size", "breaker_<dependency>_open")

_OPERATORS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?)
      | (?P<op>>=|<=|==|!=|>|<)
      | (?P<paren>[()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "for"}
_MAX_NESTING = 32


class ConditionError(ValueError):
    """A condition does not parse; `column` is the 1-based position of the problem."""

    def __init__(self, message: str, column: int | None = None):
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} (at column {column})")


def _safe_ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


def metric_value(gauges: Gauges, metric: str) -> float:
    """The value of one metric for a gauges snapshot; NaN when it does not exist
    (an unknown pool, no rate limit), so comparisons on it are false."""
    if metric == "error_rate":
        return _safe_ratio(gauges.error_rps, gauges.arrival_rps)
    if metric == "reject_rate":
        return _safe_ratio(gauges.reject_rps, gauges.arrival_rps)
    if metric == "slot_utilization":
        return _safe_ratio(gauges.busy_slots, gauges.total_slots)
    if metric == "memory_fraction":
        return _safe_ratio(gauges.memory_mb, gauges.memory_limit_mb)
    if metric in _GAUGE_METRICS:
        value = getattr(gauges, metric)
        return math.nan if value is None else float(value)
    pool = _POOL_METRIC.fullmatch(metric)
    if pool:
        for gauge in gauges.pools:
            if gauge.name == pool["name"]:
                return float(getattr(gauge, pool["field"]))
        return math.nan
    breaker = _BREAKER_METRIC.fullmatch(metric)
    if breaker:
        for gauge in gauges.breakers:
            if gauge.dependency == breaker["name"]:
                return 1.0 if gauge.state == BREAKER_OPEN else 0.0
        return math.nan
    return math.nan


@attrs.frozen
class Comparison:
    """`metric op value`, e.g. p95_ms > 300."""

    metric: str
    op: str
    value: float

    def holds(self, gauges: Gauges) -> bool:
        """True when the comparison is true for these gauges (never for a NaN metric)."""
        return bool(_OPERATORS[self.op](metric_value(gauges, self.metric), self.value))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@attrs.frozen
class AllOf:
    """Every part holds ("and")."""

    parts: tuple[Expr, ...]

    def holds(self, gauges: Gauges) -> bool:
        """True when every part holds."""
        return all(part.holds(gauges) for part in self.parts)

    def __str__(self) -> str:
        return " and ".join(_grouped(part) for part in self.parts)


@attrs.frozen
class AnyOf:
    """At least one part holds ("or")."""

    parts: tuple[Expr, ...]

    def holds(self, gauges: Gauges) -> bool:
        """True when any part holds."""
        return any(part.holds(gauges) for part in self.parts)

    def __str__(self) -> str:
        return " or ".join(_grouped(part) for part in self.parts)


@attrs.frozen
class Not:
    """The part does not hold."""

    part: Expr

    def holds(self, gauges: Gauges) -> bool:
        """True when the part does not hold."""
        return not self.part.holds(gauges)

    def __str__(self) -> str:
        return f"not {_grouped(self.part)}"


Expr = Union[Comparison, AllOf, AnyOf, Not]


def _grouped(expr: Expr) -> str:
    return f"({expr})" if isinstance(expr, (AllOf, AnyOf)) else str(expr)


def _walk(expr: Expr):
    yield expr
    if isinstance(expr, (AllOf, AnyOf)):
        for part in expr.parts:
            yield from _walk(part)
    elif isinstance(expr, Not):
        yield from _walk(expr.part)


@attrs.frozen
class Condition:
    """A parsed condition: an expression over the gauges and how long it must hold."""

    expr: Expr
    for_s: float = 0.0
    """The expression must hold continuously this long (0: at once)."""
    text: str = ""
    """The source text, as written."""

    def holds(self, gauges: Gauges) -> bool:
        """Whether the expression holds for one snapshot (ignores `for_s`)."""
        return self.expr.holds(gauges)

    def metrics(self) -> tuple[str, ...]:
        """Every metric name used, in order of appearance."""
        return tuple(e.metric for e in _walk(self.expr) if isinstance(e, Comparison))

    def pool_names(self) -> tuple[str, ...]:
        """Pool names referenced by pool_<name>_... metrics (checked by the drill loader)."""
        return tuple(m["name"] for m in map(_POOL_METRIC.fullmatch, self.metrics()) if m)

    def breaker_names(self) -> tuple[str, ...]:
        """Dependency names referenced by breaker_<name>_open metrics."""
        return tuple(m["name"] for m in map(_BREAKER_METRIC.fullmatch, self.metrics()) if m)

    def __str__(self) -> str:
        text = str(self.expr)
        return text if self.for_s == 0 else f"{text} for {self.for_s:g}s"


@attrs.define
class ConditionTracker:
    """Follows a condition across ticks: true once it has held continuously for `for_s`.

    A gap (the expression false at one snapshot) restarts the clock; time going
    backwards (a replay seek) does too.
    """

    condition: Condition
    held_since_s: float | None = None
    last_t_s: float | None = None

    def update(self, gauges: Gauges) -> bool:
        """Feed the next snapshot; True while the condition has held for its duration."""
        if self.last_t_s is not None and gauges.t_s < self.last_t_s:
            self.held_since_s = None
        self.last_t_s = gauges.t_s
        if not self.condition.holds(gauges):
            self.held_since_s = None
            return False
        if self.held_since_s is None:
            self.held_since_s = gauges.t_s
        # A tiny tolerance: tick times are sums of dt and carry float error.
        return gauges.t_s - self.held_since_s >= self.condition.for_s - 1e-9

    def reset(self) -> None:
        """Forget the history, e.g. after loading another run."""
        self.held_since_s = None
        self.last_t_s = None


def _check_metric(name: str, column: int) -> None:
    if name in METRICS or _POOL_METRIC.fullmatch(name) or _BREAKER_METRIC.fullmatch(name):
        return
    close = difflib.get_close_matches(name, METRICS, n=1, cutoff=0.6)
    hint = f'; did you mean "{close[0]}"?' if close else f"; known metrics: {', '.join(METRICS)}, {', '.join(METRIC_PATTERNS)}"
    raise ConditionError(f'unknown metric "{name}"{hint}', column)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None:
                column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
                raise ConditionError(f'unexpected "{text[column - 1]}"', column)
            kind = match.lastgroup
            start = match.start(kind)
            self.tokens.append((kind, match.group(kind), start + 1))
            pos = match.end()
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ConditionError("unexpected end of condition", len(self.text) + 1)
        self.index += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1] == word

    def condition(self) -> Condition:
        if not self.tokens:
            raise ConditionError('empty condition; expected something like "p95_ms > 300"')
        expr = self.or_expr()
        for_s = 0.0
        if self.at_word("for"):
            _, _, column = self.take()
            rest = self.text[column - 1 + len("for"):]
            try:
                for_s = parse_duration_s(rest)
            except UnitError:
                raise ConditionError(f'expected a duration like "10s" after "for", got "{rest.strip()}"', column) from None
            self.index = len(self.tokens)
        token = self.peek()
        if token is not None:
            raise ConditionError(f'unexpected "{token[1]}"; expected "and", "or" or "for"', token[2])
        return Condition(expr=expr, for_s=for_s, text=self.text)

    def or_expr(self) -> Expr:
        parts = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def and_expr(self) -> Expr:
        parts = [self.unary()]
        while self.at_word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def unary(self) -> Expr:
        kind, value, column = self.take()
        # Nesting is bounded so a hostile condition is an error, not a RecursionError.
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise ConditionError(f"nested more than {_MAX_NESTING} levels deep", column)
        try:
            return self._unary(kind, value, column)
        finally:
            self.depth -= 1

    def _unary(self, kind: str, value: str, column: int) -> Expr:
        if kind == "word" and value == "not":
            return Not(self.unary())
        if kind == "paren" and value == "(":
            inner = self.or_expr()
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise ConditionError('missing ")"', column if closing is None else closing[2])
            self.take()
            return inner
        if kind != "word" or value in _KEYWORDS:
            raise ConditionError(f'expected a metric name, got "{value}"', column)
        _check_metric(value, column)
        op_kind, op, op_column = self.take()
        if op_kind != "op":
            raise ConditionError(f'expected a comparison (>, >=, <, <=, ==, !=) after "{value}", got "{op}"', op_column)
        number_kind, number, number_column = self.take()
        if number_kind != "number":
            raise ConditionError(f'expected a number after "{value} {op}", got "{number}"', number_column)
        threshold = float(number[:-1]) / 100 if number.endswith("%") else float(number)
        if not math.isfinite(threshold):
            raise ConditionError(f'expected a finite number, got "{number}"', number_column)
        return Comparison(metric=value, op=op, value=threshold)


def parse_condition(text: str) -> Condition:
    """Parse a condition such as "error_rate >= 0.05 for 10s"; raises ConditionError."""
    if not isinstance(text, str):
        raise ConditionError(f"expected a condition string, got {type(text).__name__}")
    return _Parser(text).condition()
