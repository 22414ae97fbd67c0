"""Global sensitivity analysis of a finished Morris or Sobol sweep (SALib).

For every scenario of a results store and every requested metric, the metric is averaged over the
replicates of each design point (common seeds, so replicate noise is shared across points) and the
design's estimator is applied to those means:

* ``morris`` — elementary effects (:func:`SALib.analyze.morris.analyze`): ``mu_star`` (mean absolute
  effect), its bootstrap 95% interval half-width ``mu_star_conf``, ``mu`` (mean signed effect) and
  ``sigma`` (spread of the effects: interactions or non-linearity). Effects are in metric units per
  whole parameter range (SALib divides the change by the step in the unit hypercube), so
  parameters with different units compare directly within one metric.
* ``sobol`` — first-order and total indices (:func:`SALib.analyze.sobol.analyze`, no second order,
  matching :func:`borderabm.experiments.designs.generate`): ``S1``, ``S1_conf``, ``ST``,
  ``ST_conf``, shares of the variance of the metric over the design.

Conventions:

* The bootstrap of the confidence intervals is seeded (:data:`BOOTSTRAP_SEED`): the same store gives
  the same table.
* A metric that is constant over the design (zero variance, e.g. a count that stays 0 over a short
  horizon) gets every index **0**: no parameter moves it. (SALib's Sobol estimator would divide
  the output by its zero standard deviation, warn, and fall back to 0.)
* A metric that is NaN at some design point gives NaN indices for that scenario and metric.
* Design points are matched to runs by their parameter values, not by the ``point`` column: run
  ids are content hashes, so design points with identical values (frequent in Morris designs, whose
  trajectories share grid levels) share their runs, and the store keeps one row for them.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from borderabm.experiments.designs import MORRIS_LEVELS, Parameter, salib_problem
from borderabm.experiments.store import RUN_COLUMNS, ResultsStore


@dataclass(frozen=True)
class Analyser:
    """How SALib analyses one kind of design.

    Attributes:
        module: The SALib module whose ``analyze`` computes the indices.
        indices: The indices it reports, in table order.
        takes_design: Whether ``analyze`` needs the design matrix (Morris does, to find each
            trajectory's steps), besides the problem and the outputs.
        options: Its own keyword arguments, besides resamples, confidence level and seed.
    """

    module: str
    indices: tuple[str, ...]
    takes_design: bool
    options: Mapping[str, Any] = field(default_factory=dict)


# The analyser of each design kind (the designs are :func:`borderabm.experiments.designs.generate`'s:
# Morris on MORRIS_LEVELS levels, Sobol without second-order indices).
ANALYSERS: dict[str, Analyser] = {
    "morris": Analyser("SALib.analyze.morris", ("mu_star", "mu_star_conf", "mu", "sigma"),
                       takes_design=True, options={"num_levels": MORRIS_LEVELS}),
    "sobol": Analyser("SALib.analyze.sobol", ("S1", "S1_conf", "ST", "ST_conf"),
                      takes_design=False, options={"calc_second_order": False}),
}  # fmt: skip
METHODS = tuple(ANALYSERS)
INDICES = {method: analyser.indices for method, analyser in ANALYSERS.items()}
BOOTSTRAP_SEED = 20_240_601
RESAMPLES = 1000
CONF_LEVEL = 0.95


def analyse(
    store: ResultsStore,
    metrics: list[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """Sensitivity indices of each metric to each varied parameter, per scenario.

    Args:
        store: The results directory of a finished ``morris`` or ``sobol`` sweep.
        metrics: Summary metrics to analyse; empty means the headline metrics of
            :data:`borderabm.analysis.compare.HEADLINE_METRICS` present in the store.
        resamples: Bootstrap resamples of the confidence intervals.
        seed: Seed of the bootstrap.

    Returns:
        One row per scenario, metric and parameter (in that nesting, parameters in manifest order):
        ``scenario``, ``metric``, ``parameter`` and the indices — ``mu_star``, ``mu_star_conf``,
        ``mu``, ``sigma`` (Morris) or ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (Sobol). The method
        is also in ``table.attrs["method"]``.

    Raises:
        ValueError: If the store has no manifest, its design is not Morris or Sobol, it has no
            varied parameters, a metric is unknown or not numeric, or a design point of some
            scenario lacks finished runs (an unfinished sweep).
    """
    manifest = store.manifest()
    if manifest is None:
        raise ValueError(f"{store.root}: not a results directory (no manifest.json)")
    design = manifest.get("design") or {}
    kind = check_design_kind(design.get("kind"), store.root)
    names = list(design.get("parameters") or {})
    points: list[dict[str, Any]] = design.get("points") or []
    if not names:
        raise ValueError(f"{store.root}: the sweep varies no parameters; nothing to analyse")
    _check_design_size(kind, len(names), len(points), store.root)
    ranges = design["parameters"]
    problem = salib_problem([Parameter(n, low=ranges[n]["low"], high=ranges[n]["high"])
                             for n in names])  # fmt: skip
    x = np.array([[float(point[n]) for n in names] for point in points], dtype=float)

    runs = store.runs()
    if runs.empty:
        raise ValueError(f"{store.root}: no finished runs yet")
    missing_parameters = [n for n in names if n not in runs]
    if missing_parameters:
        raise ValueError(
            f"{store.root}: runs lack the parameter columns {', '.join(missing_parameters)}"
        )
    metrics = _check_metrics(runs, list(metrics), names, store.root)
    replicates = int(manifest.get("replicates") or 1)
    scenarios = list(manifest.get("scenarios") or {}) or sorted(runs["scenario"].unique())

    rows = []
    for scenario in scenarios:
        means = _point_means(
            runs[runs["scenario"] == scenario], names, points, metrics, replicates, scenario
        )
        for metric in metrics:
            indices = _indices(kind, problem, x, means[metric], resamples, seed)
            for position, name in enumerate(names):
                row = {"scenario": scenario, "metric": metric, "parameter": name}
                row.update({index: float(values[position]) for index, values in indices.items()})
                rows.append(row)
    table = pd.DataFrame(rows, columns=["scenario", "metric", "parameter", *INDICES[kind]])
    table.attrs["method"] = kind
    table.attrs["sweep"] = (manifest.get("sweep") or {}).get("name", "")
    return table


def check_design_kind(kind: Any, source: str | Path) -> str:
    """Refuse a design that is neither Morris nor Sobol.

    Args:
        kind: The design kind of a sweep file or store.
        source: The sweep file or results directory, for the message.

    Returns:
        ``kind``, one of :data:`METHODS`.

    Raises:
        ValueError: If ``kind`` is not in :data:`METHODS`.
    """
    if kind not in METHODS:
        raise ValueError(
            f"{source}: sensitivity analysis needs a Morris or Sobol design, but the design "
            f"kind is {kind!r} (allowed: {', '.join(METHODS)})"
        )
    return str(kind)


def _check_design_size(kind: str, num_vars: int, num_points: int, root: Path) -> None:
    group = num_vars + 1 if kind == "morris" else num_vars + 2
    if num_points == 0 or num_points % group:
        what = "trajectories of D + 1" if kind == "morris" else "Saltelli blocks of D + 2"
        raise ValueError(
            f"{root}: {num_points} design points do not form {kind} {what} = {group} points "
            f"(D = {num_vars} parameters); was the design written by borderabm?"
        )


def _check_metrics(runs: pd.DataFrame, metrics: list[str], names: list[str], root: Path) -> list:
    from borderabm.analysis.compare import HEADLINE_METRICS

    available = [
        c
        for c in runs.columns
        if c not in RUN_COLUMNS and c not in names and pd.api.types.is_numeric_dtype(runs[c])
    ]
    if not metrics:
        metrics = [m for m in HEADLINE_METRICS if m in available]
        if not metrics:
            raise ValueError(f"{root}: no headline metrics in the runs; name metrics explicitly")
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise ValueError(
            f"{root}: unknown or non-numeric metric {', '.join(repr(m) for m in unknown)} "
            f"(allowed: {', '.join(available)})"
        )
    return list(dict.fromkeys(metrics))


def _point_means(
    runs: pd.DataFrame,
    names: list[str],
    points: list[dict[str, Any]],
    metrics: list[str],
    replicates: int,
    scenario: str,
) -> dict[str, np.ndarray]:
    """Per metric, the mean over replicates at every design point, in design order."""
    canonical: dict[tuple[float, ...], int] = {}
    point_keys = []
    for index, point in enumerate(points):
        key = tuple(float(point[n]) for n in names)
        point_keys.append(key)
        canonical.setdefault(key, index)
    run_keys = list(zip(*(runs[n].astype(float) for n in names), strict=True))
    group = pd.Series([canonical.get(k, -1) for k in run_keys], index=runs.index)
    grouped = runs[metrics].astype(float).groupby(group)
    counts = grouped.size()
    means = grouped.mean()
    short = [i for i, key in enumerate(point_keys) if counts.get(canonical[key], 0) < replicates]
    if short:
        shown = ", ".join(str(i) for i in short[:10]) + (" ..." if len(short) > 10 else "")
        raise ValueError(
            f"scenario {scenario!r}: {len(short)} of {len(points)} design points lack finished "
            f"runs ({replicates} replicates each; points {shown}); finish the sweep first"
        )
    rows = [canonical[key] for key in point_keys]
    return {m: means.loc[rows, m].to_numpy(dtype=float) for m in metrics}


def _constant(y: np.ndarray) -> bool:
    finite = y[np.isfinite(y)]
    if finite.size < y.size:
        return False  # NaN somewhere: let it propagate as NaN indices
    return bool(np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())))


def _indices(
    method: str, problem: dict, x: np.ndarray, y: np.ndarray, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """The method's indices of every parameter for outputs ``y`` at design points ``x``.

    Undefined indices (e.g. Morris's sigma with one trajectory, or NaN outputs) are NaN.
    """
    analyser = ANALYSERS[method]
    if _constant(y):
        return {index: np.zeros(problem["num_vars"]) for index in analyser.indices}
    analyze = importlib.import_module(analyser.module).analyze
    inputs = (problem, x, y) if analyser.takes_design else (problem, y)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # NaN outputs and undefined spreads warn; both are reported as NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = analyze(*inputs, num_resamples=resamples, conf_level=CONF_LEVEL, seed=seed,
                         **analyser.options)  # fmt: skip
    # Morris returns masked arrays (masked where undefined): NaN there.
    return {index: np.ma.filled(np.ma.asarray(result[index], dtype=float), np.nan)
            for index in analyser.indices}  # fmt: skip


def method_of(table: pd.DataFrame) -> str:
    """The method of a table of :func:`analyse` (from its attributes, else from its columns).

    Raises:
        ValueError: If it is not a sensitivity table.
    """
    method = table.attrs.get("method")
    if method in METHODS:
        return method
    if {"mu_star", "mu_star_conf"} <= set(table.columns):
        return "morris"
    if {"S1", "ST"} <= set(table.columns):
        return "sobol"
    raise ValueError("not a sensitivity table: expected mu_star (Morris) or S1 and ST (Sobol)")
