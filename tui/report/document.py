"""The postmortem draft as a list of blocks (headings, paragraphs, tables, lists, charts).

One document, two renderings: `tui.report.markdown` and `tui.report.html` turn the
same blocks into Markdown and HTML, so the two files always say the same thing.
Text is plain (the drill author's words are never taken as markup); `Code` marks
the parts set in a fixed font (actions as typed, file names).
"""

from __future__ import annotations

from pathlib import Path

import attrs

from sim.drill.modes import mode_named
from sim.model.facilitation import FAULT_CANCEL, FAULT_INJECT, MESSAGE, NOTE
from sim.reporting.postmortem import FaultWindow, KeyTimes, Postmortem, action_text
from sim.scoring.score import EVAL_WINDOW_S
from tui.frame import format_clock


@attrs.frozen
class Code:
    """Inline text in a fixed font."""

    text: str


Inline = str | Code | tuple  # a tuple of str and Code parts


@attrs.frozen
class Heading:
    level: int
    text: str


@attrs.frozen
class Paragraph:
    text: Inline
    emphasis: bool = False


@attrs.frozen
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]
    numeric: tuple[int, ...] = ()
    """Columns aligned right."""


@attrs.frozen
class Bullets:
    items: tuple[Inline, ...]


@attrs.frozen
class Figure:
    """A chart by name (`tui.report.charts.CHARTS`); the renderer links or inlines it."""

    name: str
    title: str
    caption: str


Block = Heading | Paragraph | Table | Bullets | Figure


def parts(text: Inline) -> tuple:
    """An inline value as a tuple of str and Code parts."""
    return text if isinstance(text, tuple) else (text,)


# --------------------------------------------------------------------------- words


def clock(t_s: float | None) -> str:
    """Drill time as mm:ss, "-" when it did not happen."""
    return "-" if t_s is None else format_clock(t_s)


def span(seconds: float | None) -> str:
    """A duration: "45 s", "2 min 05 s"."""
    if seconds is None:
        return "-"
    whole = int(round(abs(seconds)))
    text = f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"
    return f"-{text}" if seconds < 0 else text


def share(x: float) -> str:
    """A share of a month's budget: more digits when small."""
    return f"{x:.3%}" if abs(x) < 0.01 else f"{x:.2%}" if abs(x) < 0.1 else f"{x:.1%}"


def _after(t_s: float | None, since: float | None, what: str) -> str:
    """"00:38 (26 s after the fault started)"."""
    if t_s is None:
        return "-"
    if since is None:
        return clock(t_s)
    delta = t_s - since
    when = f"{span(delta)} after {what}" if delta >= 0 else f"{span(-delta)} before {what}"
    return f"{clock(t_s)} ({when})"


def _score(pm: Postmortem, report) -> str:
    if report.verdict is None:
        return "-"
    if pm.finished:
        return f"{report.score:.0f} {report.grade}"
    return f"({report.score:.0f})"


# --------------------------------------------------------------------------- sections


def _facts(pm: Postmortem) -> list[Block]:
    save, drill = pm.save, pm.drill
    if pm.finished:
        played = f"played to the end ({clock(save.end_t_s)})"
    else:
        played = f"{save.ended} at {clock(save.end_t_s)} of {clock(drill.duration_s)}"
    you = pm.you.report
    if pm.finished:
        score = f"{you.score:.0f}/100, grade {you.grade}"
    else:
        score = f"not graded: the run ended early (over the same span as do nothing and par: {you.score:.0f})"
    if pm.branch:
        score += "; a branch from a replay, played with hindsight: never counted as a best"
    rows: list[tuple] = [
        ("Incident", (f"{drill.title} (", Code(drill.id), f"), seed {save.seed}")),
        ("Responder", save.player),
        ("Played", f"{save.started_at:%Y-%m-%d %H:%M} UTC, {played}"),
        ("Mode", _mode_words(save.mode)),
    ]
    if save.blind:
        rows.append(("Blind", "yes: the responder played it under a neutral name and briefing, on a fresh seed; "
                              f"the drill was {drill.title}"))
    facilitated = _facilitation_words(pm)
    if facilitated:
        rows.append(("Facilitated", facilitated))
    rows += [
        ("Score", score),
        ("Source", ("save ", Code(save_name(pm)), ", re-simulated exactly (metric digest ",
                    Code(save.digest[:12]), " matches)")),
    ]
    if save.forked_from is not None:
        rows.append(("Branch", ("from a replay of ", Code(save.forked_from.save), f" at {clock(save.forked_from.t_s)}")))
    rows.append(("Status", "draft: the facts are measured; the lessons are for the team to write"))
    return [
        Heading(1, f"Postmortem: {drill.title}"),
        Paragraph("A blameless postmortem draft written by Brownout from a saved run. Times are drill time "
                  "(mm:ss since the drill started). The run is compared with doing nothing and with the drill's "
                  "par solution on the same seed.", emphasis=True),
        Table(("", ""), tuple(rows)),
    ]


def _mode_words(name: str) -> str:
    """The difficulty mode the run was played in, and what it allowed: "standard (hints after 60s, ...)"."""
    mode = mode_named(name)
    symptoms = "" if mode.symptoms else "; no symptoms named in the log"
    return f"{mode.name} ({mode.summary}{symptoms})"


def _facilitation_words(pm: Postmortem) -> str:
    """What a facilitator did during the run ("" when nobody facilitated it)."""
    counts = {name: sum(1 for a in pm.save.actions if a.name == name) for name in (FAULT_INJECT, FAULT_CANCEL, MESSAGE, NOTE)}
    if not any(counts.values()):
        return ""
    words = (("fault injected", "faults injected", FAULT_INJECT), ("fault cancelled", "faults cancelled", FAULT_CANCEL),
             ("message", "messages", MESSAGE), ("note", "notes", NOTE))
    said = [f"{counts[name]} {one if counts[name] == 1 else many}" for one, many, name in words if counts[name]]
    return (f"yes: {', '.join(said)} by the facilitator; do nothing and par had the same faults injected, "
            "so the comparison is fair")


def _fault_words(fault: FaultWindow) -> str:
    """"errors on postgres (30% of calls fail)", marked when a facilitator injected it."""
    by = ", injected by the facilitator" if fault.injected else ""
    return f"{fault.kind} on {fault.target} ({fault.detail}{by})"


def save_name(pm: Postmortem) -> str:
    """The save's file name."""
    return Path(pm.save_file).name


def _summary(pm: Postmortem) -> list[Block]:
    times, verdict = pm.times, pm.you.report.verdict
    sentences = []
    if pm.faults:
        started = "; ".join(_fault_words(f) for f in pm.faults)
        sentences.append(f"At {clock(pm.faults[0].start_s)} the incident began: {started}.")
    else:
        sentences.append(_no_fault(pm))
    spent = [f"{share(line.you)} of the month's {line.slo} budget" for line in verdict.spent]
    none = ", ".join(share(line.none) for line in verdict.spent)
    par = ", ".join(share(line.par) for line in verdict.spent)
    if spent:
        sentences.append(f"The run spent {' and '.join(spent)} (doing nothing: {none}; par: {par}).")
    if times.first_page_s is not None:
        sentences.append(f"The first page came at {_after(times.first_page_s, times.fault_start_s, 'the fault started')}.")
    elif pm.none_times.first_page_s is not None:
        sentences.append(f"Nobody was paged: doing nothing pages at {clock(pm.none_times.first_page_s)}.")
    else:
        sentences.append("Nobody was paged.")
    if times.acted_s is not None:
        action = _helping_action(pm)
        since, what = _mitigation_origin(times)
        par_part = ""
        if pm.par_times.acted_s is not None:
            par_part = f"; par's came at {clock(pm.par_times.acted_s)}"
        sentences.append(f"The action that helped, {action}, came at {_after(times.acted_s, since, what)}{par_part}.")
    elif not pm.actions:
        sentences.append("No action was taken.")
    else:
        sentences.append("Nothing done paid off against doing nothing.")
    sentences.append(_recovery_sentence(times))
    return [Heading(2, "Summary"), Paragraph(" ".join(sentences))]


def _no_fault(pm: Postmortem) -> str:
    """Why the run saw no fault: the drill has none, or the run ended before the first."""
    faults = pm.drill.model.faults
    if not faults:
        return "The drill injects no fault."
    first = min(fault.at_s for fault in faults)
    return f"The run ended at {clock(pm.times.end_s)}, before the incident began (its first fault comes at {clock(first)})."


def _mitigation_origin(times: KeyTimes) -> tuple[float | None, str]:
    """What the time to mitigate counts from, as the score does: doing nothing's first page."""
    if times.page_s is None:
        return times.fault_start_s, "the fault started"
    if times.first_page_s is not None and abs(times.first_page_s - times.page_s) < 1e-9:
        return times.page_s, "the first page"
    return times.page_s, "the page doing nothing gets"


def _helping_action(pm: Postmortem) -> str:
    acted = pm.times.acted_s
    for action in pm.actions:
        if not action.refused and acted is not None and abs(action.t_s - acted) < 1e-9:
            return f"{action.label} {action.text}"
    return "an action"


def _recovery_sentence(times: KeyTimes) -> str:
    if times.impact_start_s is None:
        return f"No {EVAL_WINDOW_S:g} s window missed an SLO."
    if times.recovered_s is None:
        return (f"SLOs were missed from {clock(times.impact_start_s)} and the service had not recovered "
                f"when the run ended at {clock(times.end_s)}.")
    return (f"SLOs were missed from {clock(times.impact_start_s)} until {clock(times.recovered_s)} "
            f"({span(times.impact_s)}); every SLO was met from then on.")


def _key_times(pm: Postmortem) -> list[Block]:
    runs = (pm.times, pm.par_times, pm.none_times)

    def row(label: str, value) -> tuple:
        return (label, *(value(t) for t in runs))

    def mitigated(t: KeyTimes) -> str:
        since, what = _mitigation_origin(t)
        return _after(t.acted_s, since, what)

    def impact(t: KeyTimes) -> str:
        if t.impact_s is None:
            return "-"
        return span(t.impact_s) + ("" if t.recovered_s is not None else ", to the end of the run")

    rows = (
        row("Fault started", lambda t: clock(t.fault_start_s)),
        ("First symptom shown", clock(pm.times.first_symptom_s), "", ""),
        row("First page (time to detect)", lambda t: _after(t.first_page_s, t.fault_start_s, "the fault")),
        row("First action", lambda t: clock(t.first_action_s)),
        row("Action that helped (time to mitigate)", mitigated),
        row("SLOs first missed", lambda t: clock(t.impact_start_s)),
        row("Recovered (time to recover)",
            lambda t: _after(t.recovered_s, t.fault_start_s, "the fault") if t.recovered_s is not None
            else ("not recovered" if t.impact_start_s is not None else "never impacted")),
        row("SLOs missed for", impact),
        row("Run ended", lambda t: clock(t.end_s)),
    )
    return [
        Heading(2, "Detection, mitigation and recovery"),
        Table(("", "This run", "Par", "Do nothing"), rows),
        Paragraph(f"An SLO is missed in a {EVAL_WINDOW_S:g} s evaluation window whose SLI is below target; "
                  "recovered means every window from then to the end of the run met every SLO. The action that "
                  "helped is the last action before the run had saved a tenth of what par saves over doing "
                  "nothing; the time to mitigate counts from the first page doing nothing gets (the page this "
                  "run got, or would have got), as the score's response measure does.", emphasis=True),
    ]


def _impact(pm: Postmortem) -> list[Block]:
    you, none, par = (run.report for run in pm.runs)
    verdict = you.verdict
    rows = []
    for index, sli in enumerate(you.slis):
        line = verdict.spent[index]
        target = f"{sli.target:.2%}" + (f" within {sli.threshold_s * 1000:g} ms" if sli.threshold_s else "")
        rows.append((sli.name, target, f"{sli.attained:.3%}", f"{sli.bad:,}", share(line.you), share(line.none),
                     share(line.par)))
    blocks: list[Block] = [
        Heading(2, "Impact"),
        Table(("SLO", "Target", "Attained", "Bad events", "Budget spent", "Do nothing", "Par"), tuple(rows),
              numeric=(2, 3, 4, 5, 6)),
    ]
    if verdict.avoided is not None:
        if verdict.avoided > 1.0 + 1e-9:
            words = "The run did better than par."
        else:
            words = f"The run avoided {max(verdict.avoided, 0.0):.0%} of the damage par avoids."
        blocks.append(Paragraph(words + " Budgets are the month's: the drill is one incident in each SLO's window."))
    if you.degraded:
        blocks.append(Paragraph(f"{you.degraded:,} degraded (fallback) answers are counted at their cost."))
    blocks.append(Figure("impact", "Error budget spent", "Share of the month's error budget spent so far, per SLO: "
                         "this run, doing nothing and par. A1, A2, ... mark the actions; the shaded span is the fault."))
    return blocks


def _timeline(pm: Postmortem) -> list[Block]:
    by_number = {action.number: action for action in pm.actions}
    rows = []
    for entry in pm.timeline:
        action = by_number.get(entry.action) if entry.action is not None else None
        if action is None:
            rows.append((clock(entry.t_s), entry.text))
            continue
        said = f"refused: {action.outcome}" if action.refused else action.outcome
        rows.append((clock(entry.t_s), (f"{action.label} ", Code(action.text), f" ({said})" if said else "")))
    rows = tuple(rows)
    return [
        Heading(2, "Timeline"),
        Paragraph("Faults (the drill's and any a facilitator injected), the symptoms, hints and alerts the responder "
                  "saw, the facilitator's messages and notes, every action taken, and recovery."),
        Table(("Time", "Event"), rows),
    ]


def _charts() -> list[Block]:
    return [
        Heading(2, "Charts"),
        Figure("sli", "SLIs", f"Each SLO's SLI per {EVAL_WINDOW_S:g} s window against its target: this run, doing "
               "nothing and par."),
        Figure("latency", "Latency", "Latency percentiles of successful requests (rolling 10 s) against the "
               "latency SLOs' thresholds; p95 of doing nothing and par for comparison."),
        Figure("saturation", "Queue and pools", "Request queue depth, worker slots busy, and each connection "
                                                "pool's connections in use against its size, with waiters."),
    ]


def _cause(pm: Postmortem) -> list[Block]:
    items = []
    for fault in pm.faults:
        until = f"to {clock(fault.end_s)}" if fault.end_s is not None else "to the end of the run"
        by = " (injected by the facilitator)" if fault.injected else ""
        items.append(f"{fault.kind} on {fault.target}{by} from {clock(fault.start_s)} {until}: {fault.detail}")
    blocks: list[Block] = [Heading(2, "Trigger and root cause"),
                           Bullets(tuple(items)) if items else Paragraph(_no_fault(pm))]
    blocks.append(Paragraph(("The drill's briefing: ", pm.drill.briefing.strip() or "none")))
    return blocks


def _actions(pm: Postmortem) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Actions taken")]
    if not pm.actions:
        blocks.append(Paragraph("No action was taken."))
    else:
        rows = tuple(
            (action.label, clock(action.t_s), Code(action.text),
             ("refused: " if action.refused else "") + (action.outcome or ("refused" if action.refused else "applied")))
            for action in pm.actions
        )
        blocks.append(Table(("#", "Time", "Action", "Outcome"), rows))
    par = pm.par.actions
    if par:
        blocks.append(Paragraph("Par's actions on the same seed:"))
        blocks.append(Bullets(tuple((f"{clock(a.t_s)} ", Code(action_text(a.name, a.args))) for a in par)))
    return blocks


def _comparison(pm: Postmortem) -> list[Block]:
    slis = pm.you.report.slis
    rows = []
    for run, times in zip(pm.runs, (pm.times, pm.none_times, pm.par_times)):
        report = run.report
        # Each run's verdict spends in do-nothing's month budgets, as the score does.
        rows.append((run.label, _score(pm, report), clock(times.first_page_s), str(len(run.actions)),
                     *(share(line.you) for line in report.verdict.spent)))
    return [
        Heading(2, "Compared with doing nothing and par"),
        Table(("Run", "Score", "First page", "Actions", *(f"{sli.name} budget" for sli in slis)), tuple(rows),
              numeric=tuple(range(4, 4 + len(slis)))),
    ]


def _breakdown(pm: Postmortem) -> list[Block]:
    lines = tuple(f"{line.item}: {line.points:.1f} / {line.max_points:g} ({line.detail})"
                  for line in pm.you.report.breakdown)
    hints = tuple(f"{clock(t_s)} {text}" for t_s, text in pm.hints_shown)
    return [
        Heading(2, "Score breakdown"),
        Bullets(lines),
        Heading(2, "Hints shown"),
        Bullets(hints) if hints else Paragraph("No hint was shown."),
    ]


def went_well(pm: Postmortem) -> tuple[str, ...]:
    """What the run did well, as prompts for the team (measured, not judged)."""
    times, par_times, verdict = pm.times, pm.par_times, pm.you.report.verdict
    items = []
    if times.acted_s is not None and par_times.acted_s is not None and times.acted_s <= par_times.acted_s + 1e-9:
        items.append(f"The action that helped came no later than par's ({clock(times.acted_s)}, par "
                     f"{clock(par_times.acted_s)}).")
    if verdict.avoided is not None and verdict.avoided > 1.0 + 1e-9:
        items.append("The run spent less of the month's budgets than par.")
    elif verdict.avoided is not None and verdict.avoided >= 0.9:
        items.append(f"The run avoided {verdict.avoided:.0%} of the damage par avoids.")
    if times.first_page_s is None and pm.none_times.first_page_s is not None:
        items.append(f"No page went out; doing nothing pages at {clock(pm.none_times.first_page_s)}.")
    if times.impact_start_s is not None and times.recovered_s is not None:
        items.append(f"Every SLO was met again from {clock(times.recovered_s)}.")
    return tuple(items)


def went_wrong(pm: Postmortem) -> tuple[str, ...]:
    """What cost the run, as prompts for the team."""
    times, par_times, verdict = pm.times, pm.par_times, pm.you.report.verdict
    items = []
    for action in pm.actions:
        if action.refused:
            items.append(f"{action.label} {action.text} was refused: {action.outcome}.")
    if times.acted_s is None and pm.actions:
        items.append("Nothing done paid off against doing nothing.")
    elif par_times.acted_s is not None and times.acted_s > par_times.acted_s + 1e-9:
        items.append(f"The action that helped came {span(times.acted_s - par_times.acted_s)} after par's.")
    over = [line for line in verdict.spent if line.you > line.par * 1.05 + 1e-12]
    for line in over:
        items.append(f"The {line.slo} budget spent was {share(line.you)}, par {share(line.par)}.")
    collateral = next((line for line in verdict.breakdown if line.item == "collateral"), None)
    if collateral is not None and collateral.points < collateral.max_points - 0.05:
        items.append(f"Collateral beyond par: {collateral.detail}.")
    if times.impact_start_s is not None and times.recovered_s is None:
        items.append(f"The service had not recovered when the run ended at {clock(times.end_s)}.")
    return tuple(items)


def _lessons(pm: Postmortem) -> list[Block]:
    well, wrong = went_well(pm), went_wrong(pm)
    return [
        Heading(2, "Lessons"),
        Paragraph("Measured prompts to start the discussion; the team writes the lessons and the action items.",
                  emphasis=True),
        Heading(3, "What went well"),
        Bullets(well) if well else Paragraph("Nothing measured stands out."),
        Heading(3, "What went wrong"),
        Bullets(wrong) if wrong else Paragraph("Nothing measured stands out."),
        Heading(3, "What a seasoned on-call engineer does"),
        Paragraph(pm.drill.debrief.strip() or "This drill has no lesson text."),
        Heading(3, "Action items"),
        Paragraph("For the team to agree: owner, what, by when.", emphasis=True),
    ]


def postmortem_document(pm: Postmortem) -> tuple[Block, ...]:
    """The whole draft, in order."""
    return tuple(
        _facts(pm) + _summary(pm) + _key_times(pm) + _impact(pm) + _timeline(pm) + _charts() + _cause(pm)
        + _actions(pm) + _comparison(pm) + _breakdown(pm) + _lessons(pm)
    )
