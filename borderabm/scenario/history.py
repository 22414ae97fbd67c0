"""Cutting a window out of a dated scenario: the history's episodes and its calibration year.

A history (``scenarios/history_2014_2025.toml``) holds every lever as a dated event. An episode is a
window of it: the state of the border on the window's first day (every event before it applied),
the events inside the window, nothing after. Episode files say only where to cut::

    cut_from = "history_2014_2025"
    start_date = 2017-01-15
    end_date = 2017-04-30

so that an episode cannot drift from the record it comes from. Other keys in the file (a seed, the
fitted parameters, a lever changed for a what-if) are laid over the cut.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from borderabm.scenario.errors import ScenarioError
from borderabm.scenario.load import apply_overrides, validate_document
from borderabm.scenario.schema import Fence, Scenario

# The keys that say where to cut; anything else in an episode file is laid over the cut.
WINDOW_KEYS = ("cut_from", "start_date", "end_date")


def cut(scenario: Scenario, start: dt.date, end: dt.date, source: str = "cut") -> Scenario:
    """The part of a scenario from ``start`` to ``end`` (both included), as a scenario of its own.

    Args:
        scenario: The whole scenario (a history).
        start: The window's first day; it must fall within the scenario.
        end: The window's last day, on or after ``start`` and within the scenario.
        source: What to name in error lines (the episode file).

    Returns:
        A scenario starting on ``start``: the changes dated before it applied to its levers,
        closures and the fence schedule moved to the new day numbers (a closure under way on
        ``start`` starts on day 0), the deportation drive's days moved likewise, and the events
        after ``end`` dropped.

    Raises:
        ScenarioError: For a window outside the scenario, or ending before it starts.
    """
    if not scenario.start_date <= start <= end <= scenario.end_date:
        raise ScenarioError(source, [
            f"start_date, end_date: {start} to {end} is not within the history "
            f"(allowed: {scenario.start_date} to {scenario.end_date}, start on or before end)"
        ])  # fmt: skip
    offset = (start - scenario.start_date).days
    horizon = (end - start).days + 1
    document = scenario.model_dump(mode="json")
    changes = document.pop("changes")
    for change in changes:
        if change["day"] < offset:
            document = apply_overrides(document, change["set"])
    document["changes"] = [
        {**change, "day": change["day"] - offset}
        for change in changes
        if offset <= change["day"] < offset + horizon
    ]
    for table in document["crossings"].values():
        table["closures"] = [
            {**closure, "start": max(closure["start"] - offset, 0), "end": closure["end"] - offset}
            for closure in table["closures"]
            if closure["end"] > offset and closure["start"] < offset + horizon
        ]
    document["fence"]["schedule"] = _cut_schedule(document["fence"], offset)
    deportation = document["deportation"]
    if deportation["end_day"] is not None and deportation["end_day"] <= offset:
        deportation["enabled"] = False  # the drive ended before the window
        deportation["end_day"] = None
    elif deportation["end_day"] is not None:
        deportation["end_day"] -= offset
    deportation["start_day"] = max(deportation["start_day"] - offset, 0)
    document.update(start_date=start.isoformat(), horizon_days=horizon)
    return validate_document(document, source)


def _cut_schedule(fence: dict[str, Any], offset: int) -> list[dict[str, Any]]:
    """The fence schedule from ``offset`` on: its value that day first, then the later points."""
    if not fence["schedule"]:
        return []
    # The schedule in force on the window's first day (a change before it may have replaced it).
    current = Fence.model_validate(fence)
    first = {"day": 0, "coverage": current.coverage_on(offset)}
    later = [
        {**point, "day": point["day"] - offset}
        for point in fence["schedule"]
        if point["day"] > offset
    ]
    return [first, *later]


def load_cut(document: dict[str, Any], source: str, load: Any) -> Scenario:
    """An episode file's scenario: its history, cut to its window, with the file's own values.

    Anything the file gives besides the window (a name, a seed, a fitted parameter, a lever for a
    what-if on the episode) is laid over the cut, table by table, as a scenario file's keys are
    over the defaults.

    Args:
        document: The episode file as parsed (``cut_from``, ``start_date``, ``end_date``, ...).
        source: The file, for error lines.
        load: Loads the history named by ``cut_from`` (a shipped name or a path).

    Raises:
        ScenarioError: For a missing or wrong window, a bad history, or bad values.
    """
    problems = []
    window = {}
    for key in ("start_date", "end_date"):
        value = document.get(key)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            window[key] = value
        else:
            problems.append(
                f"{key}: {value!r} is not a date (allowed: a TOML date, e.g. 2017-02-16)"
            )
    history_name = document.get("cut_from")
    if not isinstance(history_name, str) or not history_name:
        problems.append(
            f"cut_from: {history_name!r} is not a scenario name (allowed: a name or a path)"
        )
    if problems:
        raise ScenarioError(source, problems)
    if "horizon_days" in document:
        raise ScenarioError(source, [
            "horizon_days: an episode runs from start_date to end_date (allowed: end_date)"
        ])  # fmt: skip
    history = load(history_name)
    episode = cut(history, window["start_date"], window["end_date"], source)
    own = {key: value for key, value in document.items() if key not in WINDOW_KEYS}
    if not own:
        return episode
    return validate_document(_laid_over(episode.model_dump(mode="json"), own), source)


def _laid_over(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` laid over ``base``: tables merged key by key, any other value replaced."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _laid_over(merged[key], value)
        else:
            merged[key] = value
    return merged
