"""Replicates on the Run tab: the run's settings on several seeds, summarised as bands.

The page's run (its scenario, levers and days) is run again on seeds ``seed, seed + 1, ...`` in a
background thread, one run after another with the experiments' own :func:`run_one` (not an
engine: the in-process engine tunes the server's malloc for batch runs, which would keep the
memory the page gives back), so the animated map of the page's own run keeps stepping meanwhile.
Each metric's running total (stranded people and trucks: their daily level) is summarised day by
day as the mean over seeds and its 95% band
(:func:`borderabm.analysis.compare.band`: a percentile bootstrap, within the replicates' range, so
never below zero for a count). Each seed's totals are those of ``borderabm run FILE --seed S``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from borderabm.analysis.compare import band
from borderabm.experiments.run import RunResult, run_one
from borderabm.metrics import (
    BROWSER_CHART_METRICS,
    BROWSER_LEVEL_METRICS,
    format_estimate,
    metric_label,
)
from borderabm.scenario import Scenario

MIN_REPLICATES, MAX_REPLICATES = 2, 20
DEFAULT_REPLICATES = 5
DEFAULT_METRICS = BROWSER_CHART_METRICS[:4]


class ReplicatesCancelled(Exception):
    """The replicates were cancelled between runs (the page left, or another set was asked for)."""


@dataclass(frozen=True, eq=False)  # compared by identity: it holds arrays
class Replicates:
    """The daily values of some metrics over several seeds of one run's settings."""

    title: str  # what was run ("closures_oct2025, 30 days, levers changed: units")
    seeds: tuple[int, ...]
    days: int
    daily: dict[str, np.ndarray]  # metric -> seeds x days (each day's own value)
    totals: dict[
        str, tuple[float, ...]
    ]  # metric -> each seed's total, as `borderabm run` prints it

    def series(self, metric: str) -> np.ndarray:
        """Seeds x days of what the charts show: running totals, or the level of a level metric."""
        values = self.daily[metric]
        return values if metric in BROWSER_LEVEL_METRICS else np.cumsum(values, axis=1)

    def band(self, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, low and high of :meth:`series` over the seeds, day by day (95%)."""
        return band(self.series(metric))


def replicate_seeds(first: int, count: int) -> list[int]:
    """The seeds of ``count`` replicates: the run's own seed, then the next ones."""
    return [int(first) + k for k in range(count)]


def run_replicates(
    settings_of: Callable[[int], Scenario],
    seeds: Sequence[int],
    metrics: Sequence[str],
    title: str,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Replicates:
    """Run the settings on every seed (in this process, one after another) and keep the metrics.

    Args:
        settings_of: The run's settings for a seed (the page's scenario, levers and days).
        seeds: The seeds, in order.
        metrics: The daily series to keep.
        title: What was run, for the page.
        progress: Called with (runs done, runs) after each run.
        cancel: Set to stop before the next run.

    Raises:
        ReplicatesCancelled: If ``cancel`` was set.
    """
    runs = [settings_of(seed) for seed in seeds]  # every seed checked before anything runs
    results: list[RunResult] = []
    for run in _until(runs, cancel):
        result = run_one(run)
        results.append(result)
        if progress is not None:
            progress(len(results), len(runs))
    if cancel is not None and cancel.is_set():
        raise ReplicatesCancelled
    results.sort(key=lambda result: seeds.index(result.settings.seed))
    days = min(result.days for result in results)
    daily = {metric: np.array([result.timeseries[metric].to_numpy(dtype=float)[:days]
                               for result in results]) for metric in metrics}  # fmt: skip
    totals = {metric: tuple(float(result.summary[metric]) for result in results)
              for metric in metrics if all(metric in r.summary for r in results)}  # fmt: skip
    return Replicates(title, tuple(seeds), days, daily, totals)


def _until(runs: Sequence[Scenario], cancel: threading.Event | None):
    for run in runs:
        if cancel is not None and cancel.is_set():
            return
        yield run


def band_charts(replicates: Replicates) -> list[dict]:
    """The charts' data: per metric the mean and its 95% band, day by day (``x``, ``y``, band)."""
    charts = []
    days = list(range(1, replicates.days + 1))
    for metric in replicates.daily:
        mean, low, high = replicates.band(metric)
        period = " per day" if metric in BROWSER_LEVEL_METRICS else ", to date"
        charts.append({"title": f"{metric_label(metric)}{period}", "x": days,
                       "y": mean.tolist(), "low": low.tolist(), "high": high.tolist()})  # fmt: skip
    return charts


def band_table_html(replicates: Replicates) -> str:
    """The last day's mean and 95% band per metric, as a table (values behind ``data-`` too)."""
    rows = []
    for metric in replicates.daily:
        mean, low, high = (float(v[-1]) for v in replicates.band(metric))
        period = f"on day {replicates.days}" if metric in BROWSER_LEVEL_METRICS else (
            f"total to day {replicates.days}")  # fmt: skip
        rows.append(
            f"<tr data-metric='{html.escape(metric)}' data-mean='{mean!r}' data-low='{low!r}' "
            f"data-high='{high!r}'><td style='padding-right:12px'>"
            f"{html.escape(metric_label(metric))}, {period}</td>"
            f"<td>{html.escape(format_estimate(metric, mean, low, high))}</td></tr>"
        )
    seeds = ", ".join(str(seed) for seed in replicates.seeds)
    head = (f"<tr><th align='left'>mean of {len(replicates.seeds)} seeds ({html.escape(seeds)})"
            "</th><th align='left'>mean [95% band]</th></tr>")  # fmt: skip
    return f"<table class='replicate-bands' style='font-size:13px'>{head}{''.join(rows)}</table>"
