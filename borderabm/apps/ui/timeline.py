"""The run's dated events on one timeline: closures, dated changes, fence steps, deportations, rules.

The scenario's own events are read from its settings; the trigger rules that fired are read back
from the run: the model records, per day, how many rules fired (``trigger_closures``) and keeps
each rule's metric as a daily series, so every firing is found by evaluating the rules on those
series exactly as the model does (:func:`fired_rules`), and checked against the model's count.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from borderabm.metrics import MetricName, metric_label
from borderabm.model import BorderModel
from borderabm.scenario import Scenario

WIDTH_PX = 980
LABEL_PX = 470  # the event's date and description, left of the bars
ROW_PX = 17
AXIS_PX = 24
MAX_LABEL_CHARS = 80
KIND_COLOURS = {
    "closure": "#d62728",
    "rule": "#9467bd",
    "change": "#1f77b4",
    "fence": "#8c564b",
    "deportation": "#ff7f0e",
}


@dataclass(frozen=True)
class TimelineEvent:
    """One dated event: a span of days [day, end) or, without ``end``, a single day."""

    day: int
    kind: str  # one of KIND_COLOURS
    what: str
    end: int | None = None

    def when(self, start: dt.date) -> str:
        """Its dates as a person reads them ("2025-10-12 to 2025-11-29", day numbers too)."""
        first = start + dt.timedelta(days=self.day)
        if self.end is None or self.end - 1 <= self.day:
            return f"{first.isoformat()} (day {self.day})"
        last = start + dt.timedelta(days=self.end - 1)
        return f"{first.isoformat()} to {last.isoformat()} (days {self.day}–{self.end - 1})"


def scenario_events(settings: Scenario) -> list[TimelineEvent]:
    """The scenario's dated events that start within its horizon, in order of day."""
    events = []
    # Gates closed over the same days for the same reason are one event (one row, gates listed).
    closed: dict[tuple[int, int, str], list[str]] = {}
    for gate, crossing in settings.crossings.items():
        for closure in crossing.closures:
            closed.setdefault((closure.start, closure.end, closure.reason or ""), []).append(gate)
    for (start, end, reason), gates in closed.items():
        why = f": {reason}" if reason else ""
        events.append(TimelineEvent(start, "closure", f"{', '.join(gates)} closed{why}", end))
    for point in settings.fence.schedule:
        events.append(TimelineEvent(point.day, "fence", f"fence at {point.coverage:.0%} "
                                                        "(built linearly between steps)"))  # fmt: skip
    deportation = settings.deportation
    if deportation.enabled:
        rate = f"{deportation.daily_rate:,} people/day"
        events.append(TimelineEvent(deportation.start_day, "deportation",
                                    f"deportation drive ({rate})", deportation.end_day))  # fmt: skip
    for change in settings.changes:
        keys = ", ".join(f"{key} = {value}" for key, value in change.set.items())
        events.append(TimelineEvent(change.day, "change", f"change: {keys}"))
    horizon = settings.horizon_days
    return sorted((e for e in events if e.day <= horizon), key=lambda e: (e.day, e.kind, e.what))


def fired_rules(model: BorderModel) -> list[tuple[int, int]]:
    """(rule index, day it fired) of every trigger firing so far, in order of day.

    A rule fires at the end of day ``d`` when its metric summed over the window ending on ``d``
    exceeds its threshold and it is armed; the gates close from day ``d + 1`` for
    ``duration_days``, and it re-arms ``cooldown_days`` after they reopen (as the model does).

    Raises:
        ValueError: If the firings found do not add up to the model's daily count of them.
    """
    fired = []
    for index, rule in enumerate(model.settings.triggers):
        series = [float(v) for v in model.daily(rule.metric)]
        armed_from = 0
        for day, today in enumerate(series):
            if day < armed_from:
                continue
            # The same sum, in the same order, as the model's: the window's earlier days, then today.
            total = sum(series[max(day - (rule.window_days - 1), 0) : day]) + today
            if total > rule.threshold:
                fired.append((index, day))
                armed_from = day + 1 + rule.duration_days + rule.cooldown_days
    counted = [int(v) for v in model.daily(MetricName.TRIGGER_CLOSURES)]
    found = [0] * len(counted)
    for _index, day in fired:
        found[day] += 1
    if found != counted:
        raise ValueError("the rules' firings do not match the model's daily count")
    return sorted(fired, key=lambda item: (item[1], item[0]))


def rule_events(model: BorderModel) -> list[TimelineEvent]:
    """The trigger rules that fired so far, each as the closure it caused."""
    rules = model.settings.triggers
    try:
        fired = fired_rules(model)
    except ValueError:  # never expected; then say only that a rule fired, and when
        days = [day for day, count in enumerate(model.daily(MetricName.TRIGGER_CLOSURES)) if count]
        return [TimelineEvent(day, "rule", "a trigger rule fired") for day in days]
    events = []
    for index, day in fired:
        rule = rules[index]
        gates = "all gates" if rule.crossings == ("all",) else ", ".join(rule.crossings)
        what = (f"rule “{rule.name}” fired on day {day} ({metric_label(rule.metric)} over "
                f"{rule.window_days} days above {rule.threshold:g}): {gates} closed "
                f"{rule.duration_days} days")  # fmt: skip
        events.append(TimelineEvent(day + 1, "rule", what, day + 1 + rule.duration_days))
    return events


def timeline_events(model: BorderModel) -> list[TimelineEvent]:
    """The scenario's events and the rules fired so far, in order of day."""
    events = scenario_events(model.settings) + rule_events(model)
    return sorted(events, key=lambda e: (e.day, e.kind, e.what))


def timeline_html(events: list[TimelineEvent], settings: Scenario, today: int) -> str:
    """An SVG timeline of the run: one row per event, the current day marked.

    Every value is escaped; each event's row carries ``data-kind``, ``data-day`` and
    ``data-end`` (its last day + 1) so what is drawn can be checked.
    """
    horizon = max(settings.horizon_days, 1)
    plot = WIDTH_PX - LABEL_PX - 12

    def x_of(day: float) -> float:
        return LABEL_PX + plot * min(max(day, 0), horizon) / horizon

    height = AXIS_PX + ROW_PX * max(len(events), 1) + 6
    parts = [f"<svg class='run-timeline' width='{WIDTH_PX}' height='{height}' "
             f"role='img' aria-label='timeline of the dated events' "
             f"style='font: 11px sans-serif'>"]  # fmt: skip
    for tick in _ticks(horizon):
        x = x_of(tick)
        date = settings.start_date + dt.timedelta(days=tick)
        anchor = "end" if x > WIDTH_PX - 40 else "middle"  # the last date stays on the picture
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{AXIS_PX - 4}' y2='{height}' "
                     f"stroke='#eee'/><text x='{x:.1f}' y='12' text-anchor='{anchor}' "
                     f"fill='#666'>{date.isoformat()}</text>")  # fmt: skip
    if not events:
        parts.append(f"<text x='4' y='{AXIS_PX + 12}' fill='#666'>No dated events in this run "
                     "so far.</text>")  # fmt: skip
    for row, event in enumerate(events):
        y = AXIS_PX + row * ROW_PX
        colour = KIND_COLOURS.get(event.kind, "#444")
        text = f"{event.when(settings.start_date)} {event.what}"
        shown = text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"
        end = "" if event.end is None else str(event.end)
        parts.append(f"<g class='timeline-event' data-kind='{html.escape(event.kind)}' "
                     f"data-day='{event.day}' data-end='{end}'><title>{html.escape(text)}</title>"
                     f"<text x='4' y='{y + 12}' fill='{colour}'>{html.escape(shown)}</text>")  # fmt: skip
        if event.end is None:
            x = x_of(event.day)
            parts.append(f"<path d='M{x:.1f},{y + 3} l5,5 l-5,5 l-5,-5 z' fill='{colour}'/>")
        else:
            left, right = x_of(event.day), x_of(event.end)
            parts.append(f"<rect x='{left:.1f}' y='{y + 4}' width='{max(right - left, 2):.1f}' "
                         f"height='{ROW_PX - 7}' fill='{colour}' opacity='0.75'/>")  # fmt: skip
        parts.append("</g>")
    x = x_of(today)
    parts.append(f"<line class='timeline-today' data-day='{today}' x1='{x:.1f}' x2='{x:.1f}' "
                 f"y1='{AXIS_PX - 6}' y2='{height}' stroke='#000' stroke-width='2'/>"
                 f"<text x='{min(x + 3, WIDTH_PX - 60):.1f}' y='{AXIS_PX - 2}' "
                 f"font-weight='bold'>day {today}</text></svg>")  # fmt: skip
    return "".join(parts)


def _ticks(horizon: int) -> list[int]:
    """About five evenly spaced days from 0 to the horizon."""
    step = max(1, round(horizon / 5))
    return list(range(0, horizon + 1, step))
