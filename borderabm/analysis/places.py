"""Where a policy changes things: per-place figures of each scenario and their paired differences.

The daily series of every run holds breakdowns by place (``metric.<place>`` columns, see
:func:`borderabm.metrics.breakdown_column`): crossings, interdictions and deaths by sector of the
border, attacks by town, people and trucks stranded by gate. :func:`place_table` makes one row per
metric, place and scenario: the run's figure for that place (over days as the metric's registry
entry says: a total for counts, the most on any day for the stranded), its mean over replicates with
a percentile-bootstrap interval (never below zero for counts), and the paired difference against
the reference scenario (replicate k of both on the same seed) with a Student-t interval.

The comparison report's maps and ``places.csv`` and the browser's Compare tab all take their numbers
from :func:`place_table`, so what a map shows is what this function computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from borderabm.analysis.compare import band, interval
from borderabm.metrics import Dim, MetricName, breakdown_column, metric_info
from borderabm.world import World


@dataclass(frozen=True)
class PlaceMetric:
    """A metric broken down by place, and what kind of place."""

    metric: str
    dim: str  # a Dim: sector (drawn along the line), gate (a marked symbol) or town (a dot)


# What the difference maps show, in order: the substitution of crossings between sectors first.
PLACE_METRICS: tuple[PlaceMetric, ...] = (
    PlaceMetric(MetricName.IRREGULAR_CROSSINGS.value, Dim.SECTOR.value),
    PlaceMetric(MetricName.MILITANT_CROSSINGS.value, Dim.SECTOR.value),
    PlaceMetric(MetricName.MILITANT_INTERDICTIONS.value, Dim.SECTOR.value),
    PlaceMetric(MetricName.BORDER_DEATHS.value, Dim.SECTOR.value),
    PlaceMetric(MetricName.ATTACKS.value, Dim.TOWN.value),
    PlaceMetric(MetricName.STRANDED_PEOPLE.value, Dim.GATE.value),
    PlaceMetric(MetricName.STRANDED_TRUCKS.value, Dim.GATE.value),
)

PLACE_COLUMNS = ("metric", "dim", "place", "scenario", "runs", "mean", "low", "high", "diff",
                 "diff_low", "diff_high", "clear")  # fmt: skip


def place_labels(world: World) -> dict[str, list[str]]:
    """The places of each kind, in the world's order: the labels the model's breakdowns use."""
    return world.place_labels()


def run_place_figures(series: pd.DataFrame, metric: str, places: Sequence[str]) -> pd.DataFrame:
    """Each run's figure per place: rows by ``run_id``, one column per place (in order asked).

    Over days as the metric's registry entry says ("sum": the run's total; "max": the most on any
    day; "mean"; "last"). Places whose column is not in the series are left out.
    """
    columns = {breakdown_column(metric, p): p for p in places}
    present = [c for c in columns if c in series]
    grouped = series.sort_values(["run_id", "day"]).groupby("run_id", sort=True)[present]
    over = metric_info(metric).over_days
    if over == "max":
        figures = grouped.max()
    elif over == "mean":
        figures = grouped.mean()
    elif over == "last":
        figures = grouped.last()
    else:  # a count or an amount: the run's total
        figures = grouped.sum()
    return figures.rename(columns=columns).astype(float)


def place_table(
    runs: pd.DataFrame,
    series: pd.DataFrame,
    labels: dict[str, list[str]],
    metrics: Sequence[PlaceMetric] = PLACE_METRICS,
) -> pd.DataFrame:
    """Per metric, place and scenario: mean with 95% interval, and the paired difference.

    Args:
        runs: The compared runs (``run_id``, ``scenario`` label, ``seed``), in comparison order:
            the first scenario is the reference.
        series: Their daily series (``run_id``, ``day`` and the breakdown columns).
        labels: The places of each kind (:func:`place_labels`); a breakdown column of another
            kind (``attacks.Balochistan`` is a province, not a town) is not read.
        metrics: What to break down.

    Returns:
        One row per metric, place and scenario with the columns of :data:`PLACE_COLUMNS`; ``runs``
        is the number of replicates; the difference columns are NaN on the reference's rows.
        Empty (with those columns) if the series holds none of the breakdowns.
    """
    names = list(dict.fromkeys(runs["scenario"]))
    rows = []
    for entry in metrics:
        places = labels.get(entry.dim, [])
        figures = run_place_figures(series, entry.metric, places)
        if figures.empty or figures.shape[1] == 0:
            continue
        by_scenario = {}
        for name in names:
            mine = runs.loc[runs["scenario"] == name, ["run_id", "seed"]]
            mine = mine[mine["run_id"].isin(figures.index)]
            by_scenario[name] = figures.loc[mine["run_id"]].set_axis(mine["seed"].to_numpy())
        reference = by_scenario[names[0]]
        for name in names:
            values = by_scenario[name]
            if values.empty:
                continue
            mean, low, high = band(values.to_numpy())
            paired = None if name == names[0] else values.sub(reference).dropna(how="all")
            for k, place in enumerate(values.columns):
                row = {"metric": entry.metric, "dim": entry.dim, "place": place, "scenario": name,
                       "runs": len(values), "mean": float(mean[k]), "low": float(low[k]),
                       "high": float(high[k]), "diff": np.nan, "diff_low": np.nan,
                       "diff_high": np.nan, "clear": False}  # fmt: skip
                if paired is not None:
                    diff = interval(paired[place].to_numpy())
                    row |= {"diff": diff.mean, "diff_low": diff.low, "diff_high": diff.high,
                            "clear": diff.clear}  # fmt: skip
                rows.append(row)
    return pd.DataFrame(rows, columns=list(PLACE_COLUMNS))
