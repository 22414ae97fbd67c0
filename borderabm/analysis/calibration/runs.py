"""The design and its runs: Latin hypercube points, the sweep that runs them, target quantities."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from borderabm.analysis.calibration.spec import (
    DERIVED_SERIES,
    GATE_DAY_STATISTICS,
    REFUGEE_STOCK,
    Calibration,
    CalibrationSpec,
    TargetSpec,
    dotted_value,
)
from borderabm.experiments import designs
from borderabm.experiments.engines import Engine, InProcess
from borderabm.experiments.store import ResultsStore
from borderabm.metrics import MetricName, breakdown_column
from borderabm.scenario import (
    Scenario,
    with_overrides,
)

if TYPE_CHECKING:
    from borderabm.experiments.sweep import Sweep


def unit_to_values(calibration: Calibration, unit: np.ndarray) -> np.ndarray:
    """Map points of the unit cube to parameter values (log-uniform where asked)."""
    return designs.from_unit(calibration.design_parameters, unit)


def values_to_unit(calibration: Calibration, values: np.ndarray) -> np.ndarray:
    """Map parameter values to the unit cube (the inverse of :func:`unit_to_values`)."""
    return designs.to_unit(calibration.design_parameters, values)


def design_points(calibration: Calibration) -> list[dict[str, Any]]:
    """The Latin hypercube design: one mapping of parameter key to value per point."""
    spec = calibration.spec
    return designs.generate("lhs", calibration.design_parameters, spec.design.samples, spec.seed)


def design_sweep(calibration: Calibration, extra: list[dict[str, Any]] | None = None) -> Sweep:
    """The design as a sweep for the sweep engines: every point x replicate on common seeds.

    Args:
        calibration: The loaded spec.
        extra: Second-wave points, numbered after the Latin hypercube's.
    """
    from borderabm.experiments.sweep import (
        DesignSpec,
        ParameterSpec,
        RunSpec,
        Sweep,
        SweepSpec,
    )

    spec = calibration.spec
    points = design_points(calibration) + list(extra or [])
    runs = []
    for index, point in enumerate(points):
        for replicate in range(spec.replicates):
            overrides = {**point, "seed": spec.seed + replicate}
            settings = with_overrides(calibration.base, overrides, str(calibration.source))
            runs.append(RunSpec.of_scenario(settings, index, replicate, point))
    sweep_spec = SweepSpec(
        name=f"calibration-{spec.name}",
        description=spec.description,
        scenarios=(str(calibration.base_path),),
        replicates=spec.replicates,
        seed=spec.seed,
        days=spec.days,
        series=True,
        design=DesignSpec(kind="lhs", samples=spec.design.samples),
        parameters={
            k: ParameterSpec(low=p.low, high=p.high, integer=p.integer)
            for k, p in spec.parameters.items()
        },  # fmt: skip
    )
    # The store's identity (its fingerprint) is the design's, not the spec file's (see
    # Calibration.design_sha256), and the base scenario is identified by its content, not by its
    # file's bytes (which change with a comment).
    content = json.dumps(calibration.base.model_dump(mode="json"), sort_keys=True)
    base_sha = hashlib.sha256(content.encode()).hexdigest()
    return Sweep(
        spec=sweep_spec,
        source=calibration.source,
        source_sha256=calibration.design_sha256,
        scenario_files={calibration.base.name: (str(calibration.base_path), base_sha)},
        points=points,
        runs=runs,
    )


def quantity(target: TargetSpec, summary: Mapping[str, float], series: pd.DataFrame | None,
             settings: Scenario) -> float:  # fmt: skip
    """The model quantity a target maps to, from one run's summary and daily series.

    Args:
        target: The target.
        summary: The run summary (metric name to number).
        series: The run's daily series (only the columns the target needs are used).
        settings: The scenario of the run (for ``input`` targets).
    """
    if target.statistic == "input":
        return float(dotted_value(settings.model_dump(mode="json"), target.metric))
    days = float(summary.get(MetricName.DAYS) or (len(series) if series is not None else 0))

    def total(metric: str) -> float:
        if series is not None and metric in series:
            return float(series[metric].sum())
        return float(summary[metric])

    statistic = target.statistic
    if statistic == "total":
        return total(target.metric)
    if statistic == "per_year":
        return total(target.metric) * 365.0 / days if days else math.nan
    if statistic == "per_day":
        return total(target.metric) / days if days else math.nan
    if statistic == "share":
        denominator = total(str(target.denominator))
        return total(target.metric) / denominator if denominator else math.nan
    if series is None:
        raise ValueError(f"the {statistic} of {target.metric} needs the run's daily series")
    column = series[target.metric].to_numpy(dtype=float)
    if statistic in GATE_DAY_STATISTICS:
        gate = target.metric.rsplit(".", 1)[-1]
        open_days = float(series[breakdown_column(MetricName.OPEN, gate)].sum())
        gate_days = open_days if statistic == "per_open_day" else len(column) - open_days
        return float(column.sum()) / gate_days if gate_days else math.nan
    if not column.size:
        return math.nan
    return float({"first": column[0], "mean": column.mean(), "max": column.max()}[statistic])


def _series_columns(targets: Mapping[str, TargetSpec]) -> list[str]:
    columns: list[str] = []
    for target in targets.values():
        if target.statistic == "input":
            continue
        columns += [target.metric] + ([target.denominator] if target.denominator else [])
        if target.statistic in GATE_DAY_STATISTICS:
            columns.append(breakdown_column(MetricName.OPEN, target.metric.rsplit(".", 1)[-1]))
    return list(dict.fromkeys(columns))


def design_targets(spec: CalibrationSpec) -> dict[str, TargetSpec]:
    """Targets computed on every design run: the fitted ones, and checks of the base scenario.

    Checks of the base scenario are computed too, so the report can show how far the prior
    reaches for each of them (a check the prior cannot reach points to the model's structure).
    """
    return {
        name: target
        for name, target in spec.targets.items()
        if target.role == "fit"
        or (not target.scenario and target.statistic != "input"
            and target.metric not in DERIVED_SERIES)
    }  # fmt: skip


def design_quantities(calibration: Calibration, store: ResultsStore, sweep: Sweep) -> pd.DataFrame:
    """Per run of the design: its point, replicate and every design target's quantity."""
    targets = design_targets(calibration.spec)
    runs = store.runs().set_index("run_id")
    wanted = _series_columns(targets)
    rows = []
    present: list[str] | None = None
    for run in sweep.runs:
        summary = runs.loc[run.run_id].to_dict()
        path = store.series_path(run.scenario, run.point, run.run_id)
        if present is None:  # every run of a design has the same columns
            names = set(pq.read_schema(path).names)
            present = [c for c in wanted if c in names]
        series = pd.read_parquet(path, columns=present)
        row: dict[str, float] = {"point": run.point, "replicate": run.replicate, "seed": run.seed}
        for name, target in targets.items():
            row[name] = quantity(target, summary, series, calibration.base)
        rows.append(row)
    return pd.DataFrame(rows)


def simulate(
    settings: Scenario, seeds: list[int], derived: bool = False, *, engine: Engine | None = None
) -> list[tuple[dict[str, float], pd.DataFrame]]:
    """Run a scenario once per seed; return (summary, daily series) per run, in seed order.

    Args:
        settings: The scenario.
        seeds: One run per seed.
        derived: Also record the derived daily series of :data:`DERIVED_SERIES`.
        engine: Where the runs execute (this process if None).
    """
    from functools import partial

    jobs = [(index, with_overrides(settings, {"seed": seed}, "calibrate"))
            for index, seed in enumerate(seeds)]  # fmt: skip
    results = dict((engine or InProcess()).map_unordered(partial(_simulate_one, derived=derived),
                                                         jobs))  # fmt: skip
    return [results[index] for index in range(len(jobs))]


def _simulate_one(job: tuple[int, Scenario], derived: bool
                  ) -> tuple[int, tuple[dict[str, float], pd.DataFrame]]:  # fmt: skip
    """One run of :func:`simulate` (module level, so that worker processes can run it)."""
    from borderabm.experiments.run import run_one

    index, settings = job
    stock: list[float] = []
    result = run_one(settings, on_day=refugee_stock_recorder(stock) if derived else None)
    series = result.timeseries
    if derived:
        series = pd.concat([series, pd.DataFrame({REFUGEE_STOCK: stock})], axis=1)
    return index, (result.summary, series)


def refugee_stock_recorder(stock: list[float]):
    """A day observer that appends the day's refugee stock in Pakistan (people) to ``stock``.

    The stock counts the refugees on the Pakistani side who are neither border-community members
    nor dead: :data:`REFUGEE_STOCK`, a check target the daily series does not hold.
    """
    from borderabm.rules.refugees import COMMUNITY, DEAD
    from borderabm.world.world import PK

    def record(model) -> None:
        refugees = model.refugees
        living = ((refugees.group != COMMUNITY) & (refugees.side == PK)
                  & (refugees.state != DEAD))  # fmt: skip
        stock.append(float(np.count_nonzero(living) * model.people_per_agent))

    return record
