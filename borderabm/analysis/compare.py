"""Compare scenarios on common random numbers: replicate k of every scenario uses the same seed.

The runs come from the sweep machinery (``borderabm.experiments``); this module holds the statistics:
:func:`compare_table` (scenarios against a reference), :func:`point_table` (every design point of a
sweep), and :func:`load_comparison`, which reads a results store as the comparison the command line
(``compare --sweep``) and the browser's saved results both show.

For each metric: the mean and 95% interval per scenario, and the paired difference against the first
scenario with its 95% interval; a difference is *clear* when its interval excludes zero.

Two kinds of interval, each fitted to what it describes:

- The level of a metric (and a chart's band over days) is a **percentile bootstrap of the replicate
  mean**: it lies within the replicates' range, so an interval of counts or money never goes below
  zero, and it needs no normality of skewed counts. Its resampling uses a fixed seed, so the same runs
  give the same interval everywhere.
- A paired difference is a **Student-t interval of the per-seed differences** (differences may be
  negative; the t interval keeps the "clear" rule conservative with few replicates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from borderabm.experiments.store import MANIFEST, RUN_COLUMNS, Manifest, ResultsStore, StoreError
from borderabm.experiments.sweep import VARIANT_DESIGN, variant_label
from borderabm.metrics import HEADLINE_METRICS, MetricName, breakdown_column, metric_info


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval."""

    mean: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


def interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and Student-t interval of the finite values (zero width for fewer than two)."""
    data = _finite(values)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    centre = float(data.mean())
    if data.size < 2 or np.all(data == data[0]):
        return Interval(centre, centre, centre)
    half = stats.t.ppf(0.5 + confidence / 2, data.size - 1) * data.std(ddof=1) / np.sqrt(data.size)
    return Interval(centre, centre - half, centre + half)


def _finite(values: Sequence[float]) -> np.ndarray:
    """The finite values (a run whose metric could not be computed is left out, not averaged in)."""
    data = np.asarray(values, dtype=float)
    return data[np.isfinite(data)]


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20251012  # fixed: the same runs give the same interval in every tool


def band(values: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replicates (axis 0) and its percentile-bootstrap interval, for every column.

    The interval lies within the replicates' range, so it never leaves the data's domain (no
    negative counts). Zero width where there are fewer than two replicates or they all agree.

    Args:
        values: Replicates x columns (e.g. days), or a 1-d array of replicates.
        confidence: Coverage of the interval.

    Returns:
        The mean, low and high, each with the shape of one replicate.
    """
    data = np.asarray(values, dtype=float)
    mean = data.mean(axis=0)
    if data.shape[0] < 2:
        return mean, mean.copy(), mean.copy()
    result = stats.bootstrap(
        (data,),
        np.mean,
        axis=0,
        vectorized=True,
        paired=False,
        method="percentile",
        confidence_level=confidence,
        n_resamples=BOOTSTRAP_RESAMPLES,
        batch=200,
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    low, high = result.confidence_interval
    constant = np.all(data == data[0], axis=0)  # no spread: the interval is the value itself
    low = np.where(constant, mean, np.minimum(low, mean))
    high = np.where(constant, mean, np.maximum(high, mean))
    return mean, low, high


def level_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean of the finite replicates and its percentile-bootstrap interval (see :func:`band`)."""
    data = _finite(values)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    mean, low, high = band(data, confidence)
    return Interval(float(mean), float(low), float(high))


def compare_table(results: pd.DataFrame, metrics: Sequence[str] = HEADLINE_METRICS) -> pd.DataFrame:
    """Per scenario and metric: mean, 95% interval, paired difference vs the first scenario.

    The level's interval is a percentile bootstrap of the mean; the difference's a paired Student t.
    """
    names = list(dict.fromkeys(results["scenario"]))
    reference = results[results["scenario"] == names[0]].set_index("seed")
    rows = []
    for name in names:
        runs = results[results["scenario"] == name].set_index("seed")
        for metric in metrics:
            level = level_interval(runs[metric])
            row = {"scenario": name, "metric": metric, "mean": level.mean, "low": level.low,
                   "high": level.high}  # fmt: skip
            if name != names[0]:
                paired = (runs[metric] - reference[metric]).dropna()
                diff = interval(paired)
                row |= {"diff": diff.mean, "diff_low": diff.low, "diff_high": diff.high,
                        "clear": diff.clear}  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows)


def _is_metric(column: str) -> bool:
    """Whether a run column is a metric (``gate_people.Torkham``), not a parameter (``fence.coverage``)."""
    try:
        metric_info(column)
    except KeyError:
        return False
    return True


def point_table(runs: pd.DataFrame, metrics: Sequence[str] = ()) -> pd.DataFrame:
    """Mean and 95% interval of each metric per scenario and design point of a sweep.

    Args:
        runs: The sweep's run rows (``ResultsStore.runs``).
        metrics: The metrics to show (the headline set if empty); those not in the rows are left
            out.

    Returns:
        One row per scenario and point: ``scenario``, ``point``, ``replicates``, the point's
        parameters, then ``<metric>``, ``<metric>_low`` and ``<metric>_high`` for each metric (the
        interval a percentile bootstrap of the mean, see :func:`level_interval`).
    """
    if runs.empty:
        return pd.DataFrame()
    metrics = [m for m in (metrics or HEADLINE_METRICS) if m in runs]
    parameters = [c for c in runs.columns if "." in c and c not in RUN_COLUMNS
                  and not _is_metric(c) and not runs[c].isna().all()]  # fmt: skip
    rows = []
    for (scenario, point), group in runs.groupby(["scenario", "point"], sort=True):
        row = {"scenario": scenario, "point": int(point), "replicates": len(group)}
        row.update({p: group[p].iloc[0] for p in parameters if p in group})
        for metric in metrics:
            level = level_interval(group[metric])
            row |= {metric: level.mean, f"{metric}_low": level.low, f"{metric}_high": level.high}
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)  # compared by identity: it holds DataFrames
class Comparison:
    """The runs of a results store, labelled and ordered for :func:`compare_table`.

    Attributes:
        store: Where the runs are.
        runs: One row per run, in comparison order; ``scenario`` holds the label (the scenario's
            name, ``scenario@point`` when the store has several design points, or a lever
            variant's label).
        order: The labels in comparison order; the first is the reference.
        replicates: The smallest number of replicates of any label (the pairs every label has).
        members: Label -> (scenario, design point) of its runs.
        manifest: The store's manifest.
    """

    store: ResultsStore
    runs: pd.DataFrame
    order: list[str]
    replicates: int
    manifest: Manifest
    members: dict[str, tuple[str, int]] = field(default_factory=dict)

    def table(self, metrics: Sequence[str] = HEADLINE_METRICS) -> pd.DataFrame:
        """:func:`compare_table` of the runs."""
        return compare_table(self.runs, metrics)

    def series(self) -> pd.DataFrame:
        """The stored daily series of the runs, with each run's label in ``scenario``.

        Empty if the sweep kept no series.

        Raises:
            StoreError: Naming a series file that cannot be read.
        """
        series = self.store.series()
        if series.empty:
            return series
        return series.merge(self.runs[["run_id", "scenario"]], on="run_id")

    def design_point(self, label: str) -> dict | None:
        """The parameters of a label's design point, as the manifest records them.

        None if the manifest does not describe that point (or the store has no design).
        """
        design = self.manifest.design
        _, point = self.members[label]
        if design is None or not 0 <= point < len(design.points):
            return None
        return dict(design.points[point])


def load_comparison(store: ResultsStore) -> Comparison:
    """The finished runs of a results store as a comparison.

    Labels: the scenario's name, or ``scenario@point`` for every run when the store has several
    design points; the runs of lever variants (a design of kind ``variants``) are labelled by
    their levers instead (``baseline``, ``baseline: fence.coverage=0.5``, see
    :func:`~borderabm.experiments.sweep.variant_label`). Order: the sweep's own scenario order
    (its first scenario is the reference; a scenario the manifest does not list comes after those
    it lists, by name), then design point.

    Raises:
        StoreError: Naming the folder or file: no manifest (not a results directory), a manifest
            or a run row that cannot be read, or no finished runs yet.
    """
    manifest = store.read_manifest()
    if manifest is None:
        raise StoreError(f"{store.root}: not a results directory (no {MANIFEST})")
    runs = store.runs()
    if runs.empty:
        raise StoreError(f"{store.root}: runs: no finished runs yet")
    listed = list(manifest.scenarios)
    rank = {scenario: index for index, scenario in enumerate(listed)}
    runs = runs.sort_values(
        ["scenario", "point", "replicate"],
        key=lambda c: c.map(lambda s: (rank.get(s, len(rank)), s)) if c.name == "scenario" else c,
    ).reset_index(drop=True)
    several = runs["point"].nunique() > 1
    labels = runs["scenario"] + "@" + runs["point"].astype(str) if several else runs["scenario"]
    if manifest.design is not None and manifest.design.kind == VARIANT_DESIGN:
        labels = _variant_labels(runs, manifest.design.points)
    members = {str(label): (str(scenario), int(point)) for label, scenario, point
               in zip(labels, runs["scenario"], runs["point"], strict=True)}  # fmt: skip
    runs = runs.assign(scenario=labels.astype(str))
    order = list(dict.fromkeys(runs["scenario"]))
    replicates = int(runs.groupby("scenario").size().min())
    return Comparison(store, runs, order, replicates, manifest, members)


def _variant_labels(runs: pd.DataFrame, points: list[dict]) -> pd.Series:
    """Labels of lever variants: ``baseline``, ``baseline: fence.coverage=0.5`` (:func:`variant_label`).

    A point the manifest does not describe keeps the ``scenario@point`` label.
    """
    labels = [
        variant_label(scenario, points[point])
        if 0 <= point < len(points)
        else f"{scenario}@{point}"
        for scenario, point in zip(runs["scenario"], runs["point"].astype(int), strict=True)
    ]
    return pd.Series(labels, index=runs.index, dtype=object)


def sector_names(series: pd.DataFrame, metric: str = MetricName.MILITANT_CROSSINGS) -> list[str]:
    """The sectors a daily series breaks ``metric`` down by (its ``metric.<sector>`` columns)."""
    prefix = breakdown_column(metric, "")
    return [c.removeprefix(prefix) for c in series.columns if c.startswith(prefix)]
