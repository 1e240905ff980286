"""What each mitigation asks for: fields with their current value and valid range.

Pure values and parsing, no widgets: `ActionDialog` renders an `ActionForm`, and
`form_for` builds one from the drill's model, the latest gauges and the actions
already applied (so "current" is what the service runs with now).
"""

from __future__ import annotations

import math

import attrs

from sim.engine.pools import POOL_RESIZE_DELAY_S
from sim.model.distributions import quantile
from sim.model.observe import Gauges
from sim.model.spec import Action, CallStep, DbStep, ModelSpec
from tui.frame import format_ms

FIELD_KINDS = ("choice", "int", "float")


class FieldError(ValueError):
    """A value typed into a dialog is not valid; the message names the field and the range."""


def _number_text(value: float) -> str:
    """A number as a person writes it: 1,000,000 not 1e+06; 0.25 stays 0.25."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:g}"


def _ms_text(seconds: float) -> str:
    """A latency in the app's one unit style (85ms under a second, 1.2s from there)."""
    return format_ms(1000.0 * seconds)


@attrs.frozen
class FormField:
    """One question of a dialog."""

    key: str
    """The action argument this field fills."""
    label: str
    kind: str = attrs.field(validator=attrs.validators.in_(FIELD_KINDS))
    current: str
    """Shown as the starting value."""
    choices: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = math.inf
    note: str = ""
    """Extra words under the field, e.g. what 0 means."""

    @property
    def range_text(self) -> str:
        """The valid range, as the dialog shows it."""
        if self.kind == "choice":
            return " / ".join(self.choices)
        top = "∞" if math.isinf(self.maximum) else _number_text(self.maximum)
        whole = "whole number " if self.kind == "int" else ""
        return f"{whole}{_number_text(self.minimum)} – {top}"

    def parse(self, text: str) -> object:
        """The typed text as an action argument, or FieldError naming the field and range."""
        text = text.strip()
        if self.kind == "choice":
            if text not in self.choices:
                raise FieldError(f"{self.label}: choose one of {', '.join(self.choices)}")
            return text
        try:
            # People type thousands separators the way the range shows them.
            text = text.replace(",", "").replace("_", "")
            value = int(text) if self.kind == "int" else float(text)
        except ValueError:
            expected = f"a {self.range_text}" if self.kind == "int" else f"a number {self.range_text}"
            raise FieldError(f"{self.label}: expected {expected}, got {text!r}") from None
        if not (self.minimum <= value <= self.maximum) or (isinstance(value, float) and math.isnan(value)):
            raise FieldError(f"{self.label}: {value:g} is outside {self.range_text}")
        return value


@attrs.frozen
class ActionForm:
    """A dialog for one action: title, a line of explanation and the fields."""

    action: str
    title: str
    explanation: str
    fields: tuple[FormField, ...]
    confirm: bool = False
    """Ask even when there is nothing to choose (an action too weighty to send on one key)."""

    def parse(self, texts: dict[str, str]) -> dict[str, object]:
        """All fields parsed; FieldError on the first bad one."""
        return {field.key: field.parse(texts.get(field.key, "")) for field in self.fields}

    @property
    def needs_input(self) -> bool:
        """False when every field is a choice with one option: nothing to ask."""
        return self.confirm or any(field.kind != "choice" or len(field.choices) > 1 for field in self.fields)

    def defaults(self) -> dict[str, object]:
        """Every field at its current value (used when there is nothing to ask)."""
        return self.parse({field.key: field.current for field in self.fields})


class NotApplicable(Exception):
    """The action has nothing to act on in this drill (e.g. no breakers); the message says why."""


def _last_args(applied: tuple[Action, ...], name: str, **match: object) -> dict[str, object] | None:
    """The arguments of the latest applied `name` action whose args include `match`."""
    for action in reversed(applied):
        if action.name == name and all(action.arg(k) == v for k, v in match.items()):
            return action.kwargs
    return None


def _called_dependencies(model: ModelSpec) -> tuple[str, ...]:
    names = []
    for cls in model.classes:
        for step in cls.plan:
            if isinstance(step, CallStep) and step.dependency not in names:
                names.append(step.dependency)
    return tuple(names)


def _breaker_choice(model: ModelSpec) -> FormField:
    names = tuple(d.name for d in model.dependencies if d.breaker is not None)
    if not names:
        raise NotApplicable("this service has no circuit breakers")
    return FormField("dependency", "Dependency", "choice", names[0], choices=names)


def form_for(name: str, model: ModelSpec, gauges: Gauges, applied: tuple[Action, ...] = ()) -> ActionForm:
    """The dialog for action `name` given the service as it is now; NotApplicable if it cannot apply."""
    from tui.dialogs import ops_forms

    builder = _BUILDERS.get(name)
    if builder is not None:
        form = builder(model, gauges, applied)
    elif name in ops_forms.BUILDERS:
        form = ops_forms.BUILDERS[name](model, gauges, applied, FormField, ActionForm, NotApplicable)
    else:
        raise NotApplicable(f"unknown action {name!r}")
    delay = ops_forms.delay_text(name, model)
    return attrs.evolve(form, explanation=f"{form.explanation} {delay}".strip()) if delay else form


def _pool_resize(model, gauges, applied):
    pools = tuple(p.name for p in gauges.pools) or tuple(p.name for p in model.pools)
    if not pools:
        raise NotApplicable("this service has no connection pools")
    sizes = ", ".join(f"{p.name} {p.target_size}" for p in gauges.pools)
    first = gauges.pools[0].target_size if gauges.pools else model.pools[0].size
    databases = [d for d in model.dependencies if d.kind == "database"]
    limits = ", ".join(f"{d.name} allows {d.max_connections}" for d in databases)
    top = max((d.max_connections for d in databases), default=10_000)
    return ActionForm(
        "pool.resize", "Resize a connection pool",
        f"Now: {sizes}. The new connections open {POOL_RESIZE_DELAY_S:g}s after the push lands. Connections across all pools on a database: {limits}; "
        f"a size that would pass it is refused.",
        (
            FormField("pool", "Pool", "choice", pools[0], choices=pools),
            FormField("size", "Size", "int", str(first), minimum=1, maximum=top),
        ),
    )


def _breaker(action: str, title: str, explanation: str):
    def build(model, gauges, applied):
        choice = _breaker_choice(model)
        states = {"closed": "CLOSED", "open": "OPEN", "half_open": "HALF_OPEN"}
        now = "; ".join(f"{b.dependency} {states.get(b.state, b.state)}"
                        f"{' (forced)' if b.forced else ' (automatic)'}" for b in gauges.breakers)
        return ActionForm(action, title, f"{explanation} Now: {now or 'no breaker'}.", (choice,))

    return build


def _shed(model, gauges, applied):
    return ActionForm(
        "shed.set", "Shed load",
        "Refuse this fraction of arrivals at the door (priority: lowest priority first). 0 stops shedding. Now: "
        + (f"shedding {gauges.shed_fraction:.0%} ({gauges.shed_mode})." if gauges.shed_fraction else "not shedding."),
        (
            FormField("fraction", "Fraction", "float", _number_text(gauges.shed_fraction), minimum=0.0, maximum=1.0),
            FormField("mode", "Mode", "choice", gauges.shed_mode, choices=("random", "priority")),
        ),
    )


def _queue_limit(model, gauges, applied):
    current = "0" if gauges.queue_limit is None else str(gauges.queue_limit)
    now = "unbounded" if gauges.queue_limit is None else f"{gauges.queue_limit:,} requests"
    return ActionForm(
        "queue.set_limit", "Bound the request queue",
        f"Arrivals beyond the limit are rejected at once. 0 = unbounded. Now: {now} ({gauges.queue_depth:,} queued).",
        (FormField("limit", "Limit", "int", current, minimum=0, maximum=1_000_000),),
    )


def _timed_dependencies(model: ModelSpec) -> tuple[str, ...]:
    """Dependencies a plan waits on: the called ones first (as before queries could be timed), then
    the databases queried through a pool."""
    pool_database = {p.name: p.database for p in model.pools}
    queried = [pool_database[step.pool] for cls in model.classes for step in cls.plan
               if isinstance(step, DbStep) and step.pool in pool_database]
    return tuple(dict.fromkeys((*_called_dependencies(model), *queried)))


def _timeout(model, gauges, applied):
    names = _timed_dependencies(model) or tuple(d.name for d in model.dependencies)
    if not names:
        raise NotApplicable("this service calls no dependencies")
    dep = next((d for d in gauges.dependencies if d.name == names[0]), None)
    current = "0" if dep is None or dep.timeout_s is None else _number_text(dep.timeout_s)
    timeouts = {d.name: d.timeout_s for d in gauges.dependencies}
    # What an on-call engineer reads off the dashboard before choosing: the usual p99 of each.
    normal_p99 = {d.name: quantile(d.latency, 0.99) for d in model.dependencies}
    nows = "; ".join(
        f"{name} {'none' if timeouts.get(name) is None else _ms_text(timeouts[name])}"
        f" (normal p99 {_ms_text(normal_p99[name])})"
        for name in names
    )
    return ActionForm(
        "timeout.set", "Set a call timeout",
        f"Bounds how long one call or query may hold a worker; slower ones fail. 0 = no timeout. Now: {nows}.",
        (
            FormField("dependency", "Dependency", "choice", names[0], choices=names),
            FormField("timeout_s", "Timeout (s)", "float", current, minimum=0.0, maximum=600.0),
        ),
    )


def _retry(model, gauges, applied):
    classes = tuple(c.name for c in model.classes)
    first = model.classes[0]
    last = _last_args(applied, "retry.set", **{"class": first.name}) or {}
    retries = last.get("retries", first.retry.retries)
    backoff = float(last.get("backoff_s", first.retry.backoff_s))
    return ActionForm(
        "retry.set", "Change client retries",
        f"Retries per failed request and the first backoff (doubles each retry). "
        f"Now: {first.name} {retries} retries, backoff {_ms_text(backoff)}.",
        (
            FormField("class", "Class", "choice", first.name, choices=classes),
            FormField("retries", "Retries", "int", str(last.get("retries", first.retry.retries)), minimum=0, maximum=10),
            FormField(
                "backoff_s", "Backoff (s)", "float", _number_text(float(last.get("backoff_s", first.retry.backoff_s))),
                minimum=0.0, maximum=60.0,
            ),
        ),
    )


def _ratelimit(model, gauges, applied):
    last = _last_args(applied, "ratelimit.set") or {}
    spec = model.service.ratelimit
    rate = gauges.ratelimit_rps or 0.0
    burst = last.get("burst", spec.burst if spec else max(rate, 1.0))
    return ActionForm(
        "ratelimit.set", "Rate-limit arrivals",
        "A token bucket at the door: requests per second and burst. Rate 0 turns it off. Now: "
        + (f"{_number_text(rate)} req/s, burst {_number_text(float(burst))}." if rate else "off."),
        (
            FormField("rate_rps", "Rate (req/s)", "float", _number_text(rate), minimum=0.0, maximum=1_000_000.0),
            FormField("burst", "Burst", "float", _number_text(float(burst)), minimum=1.0, maximum=1_000_000.0),
        ),
    )


def _workers(model, gauges, applied):
    top = max(model.service.max_workers, model.service.workers)
    return ActionForm(
        "workers.scale", "Scale workers",
        f"New workers need {model.service.warmup_s:g}s to warm up. Now: {gauges.target_workers} "
        f"({gauges.live_workers} serving).",
        (FormField("workers", "Workers", "int", str(gauges.target_workers), minimum=1, maximum=top),),
    )


def _bulkhead(model, gauges, applied):
    pairs = []
    for cls in model.classes:
        for step in cls.plan:
            if isinstance(step, DbStep) and (cls.name, step.pool) not in pairs:
                pairs.append((cls.name, step.pool))
    if not pairs:
        raise NotApplicable("no request class uses a connection pool")
    classes = tuple(dict.fromkeys(c for c, _ in pairs))
    pools = tuple(dict.fromkeys(p for _, p in pairs))
    last = _last_args(applied, "bulkhead.set", **{"class": classes[0], "pool": pools[0]}) or {}
    size = int(last.get("size", 0))
    return ActionForm(
        "bulkhead.set", "Give a class its own pool",
        "A dedicated pool (bulkhead) for one class, carved from the same database. Size 0 removes it. Now: "
        + (f"{classes[0]} has its own {size}-connection pool." if size else f"{classes[0]} shares {pools[0]}."),
        (
            FormField("class", "Class", "choice", classes[0], choices=classes),
            FormField("pool", "Shared pool", "choice", pools[0], choices=pools),
            FormField("size", "Size", "int", str(size), minimum=0, maximum=10_000),
        ),
    )


def _fallback(model, gauges, applied):
    names = _called_dependencies(model)
    if not names:
        raise NotApplicable("this service calls no dependencies that could fall back")
    states = {d.name: d.fallback for d in gauges.dependencies}
    now = ", ".join(f"{n} {'on' if states.get(n) else 'off'}" for n in names)
    # The dialog starts from what runs now: a trainee must not switch a fallback on by pressing Enter.
    return ActionForm(
        "fallback.set", "Serve a fallback",
        f"Now: {now}. On: the service still calls the dependency; an answer whose call fails, "
        "times out or meets an open breaker is degraded instead of failed.",
        (
            FormField("dependency", "Dependency", "choice", names[0], choices=names),
            FormField("enabled", "Fallback", "choice", "on" if states.get(names[0]) else "off", choices=("on", "off")),
        ),
    )


def _restart(model, gauges, applied):
    workers = tuple(str(w.index) for w in gauges.workers)
    if not workers:
        raise NotApplicable("no worker is running")
    fullest = max(gauges.workers, key=lambda w: w.memory_mb)
    return ActionForm(
        "worker.restart", "Restart a worker",
        f"Drops what it is serving and frees its memory; it is back after a warm-up. Now: "
        f"{sum(1 for w in gauges.workers if w.up)} of {len(gauges.workers)} up; fullest {fullest.index} "
        f"({fullest.memory_mb:.0f} MB).",
        (FormField("worker", "Worker", "choice", str(fullest.index), choices=workers),),
    )


_BUILDERS = {
    "pool.resize": _pool_resize,
    "breaker.force_open": _breaker("breaker.force_open", "Force a breaker open", "Calls fail fast (or fall back) until you release it."),
    "breaker.force_close": _breaker("breaker.force_close", "Force a breaker closed", "Calls go through whatever their failure rate."),
    "breaker.auto": _breaker("breaker.auto", "Return a breaker to automatic", "The breaker follows its failure window again."),
    "shed.set": _shed,
    "queue.set_limit": _queue_limit,
    "timeout.set": _timeout,
    "retry.set": _retry,
    "ratelimit.set": _ratelimit,
    "workers.scale": _workers,
    "bulkhead.set": _bulkhead,
    "fallback.set": _fallback,
    "worker.restart": _restart,
}


def applicable_actions(model: ModelSpec, gauges: Gauges) -> frozenset[str]:
    """The actions whose dialog can be built for this drill: the ones with something to act on
    (the newer ones too, and a rollback where a deploy goes out later: until it has, its key says so)."""
    from tui.dialogs import ops_forms

    found = set()
    for name in (*_BUILDERS, *ops_forms.BUILDERS):
        try:
            form_for(name, model, gauges)
        except NotApplicable:
            if not ops_forms.applies_later(name, model):
                continue
        found.add(name)
    return frozenset(found)


def action_args(form: ActionForm, values: dict[str, object]) -> dict[str, object]:
    """Dialog values as the engine's action arguments.

    on/off becomes a bool, a worker index an int, and 0 becomes None where the
    dialog says 0 means none (queue limit: unbounded; timeout: no timeout).
    """
    args = dict(values)
    if form.action in ("fallback.set", "flag.set", "cache.coalesce", "cache.serve_stale"):
        args["enabled"] = args["enabled"] == "on"
    if form.action == "worker.restart":
        args["worker"] = int(args["worker"])
    if form.action == "queue.set_limit" and args["limit"] == 0:
        args["limit"] = None
    if form.action == "timeout.set" and args["timeout_s"] == 0:
        args["timeout_s"] = None
    return args
