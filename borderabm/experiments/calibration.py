"""Calibration to published figures: approximate Bayesian computation on a Latin hypercube.

A calibration spec (TOML, see ``calibration/baseline.toml``) names a base scenario, the uncertain
parameters with uniform prior ranges, and the targets: published figures with a tolerance range and
their source. ``role = "fit"`` targets are fitted; ``role = "check"`` targets are only reported
(input checks such as the fence share, historical checks run under their own overrides).

The method, in four steps:

1. **Design.** A Latin hypercube of ``design.samples`` points over the prior box (log-uniform for
   parameters marked ``log``), each run ``replicates`` times on common seeds through the sweep
   engines (local processes or Dask) into a resumable results store (``DIR/store``).
2. **ABC rejection on the simulations.** Each point's target quantities are averaged over its
   replicates and scored by the normalised distance ``sqrt(mean_j z_j**2)``, where
   ``z_j = (model - target) / (tolerance on that side)``; the closest ``accept_share`` are accepted.
3. **Surrogate ABC.** A quadratic regression of each fitted quantity on the (unit-scaled)
   parameters is fitted to the point means; ``surrogate_draws`` fresh prior draws are scored on the
   surrogate and every draw predicted within *every* target's tolerance is accepted (if fewer than
   :data:`MIN_ACCEPTED` are, the closest ``accept_share`` of the draws instead). These accepted draws
   are the posterior; the **fitted point** is the accepted draw nearest the posterior median (in
   prior-range units), so it lies on the posterior even when parameters trade off along a ridge,
   rounded to three significant digits.
4. **Verification.** The fitted scenario is re-run with ``verify_replicates`` fresh seeds (``seed +
   1000`` on), and every target is reported with its model mean, 95% interval and whether the mean
   lies within the tolerance range. Check targets with ``scenario`` overrides (e.g. a 2001 run) are
   run on the fitted scenario with those overrides and the same fresh seeds.

Outputs in ``DIR``: ``calibration.md``, ``calibration.html`` (one page, with the prior-vs-posterior
chart embedded; also ``calibration.png``), ``posterior.csv`` (the accepted draws), ``design.csv``
(the simulated points and their distances) and ``baseline_fitted.toml`` (the base scenario file
with the fitted values written in, comments kept, under a header saying where it came from).

Same spec and seed give the same fitted values, whatever the number of local workers (tested
with one and two; the Dask engine runs the same run specs, each seeded by its own scenario).
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import hashlib
import html
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import qmc

from borderabm.compare import interval, short_number
from borderabm.experiments import designs
from borderabm.experiments.store import ResultsStore, atomic_write
from borderabm.experiments.sweep import spec_problem
from borderabm.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_toml,
    validate_document,
    with_overrides,
)

if TYPE_CHECKING:
    from rich.console import Console

    from borderabm.experiments.sweep import Sweep

Statistic = Literal[
    "total", "per_year", "per_day", "per_open_day", "share", "first", "mean", "max", "input"
]
# Statistics of a whole run that summary metrics (not only daily series columns) can give.
SUMMARY_STATISTICS = ("total", "per_year", "per_day", "share")
MIN_ACCEPTED = 50
FRESH_SEED_OFFSET = 1000  # seeds of the choice among fitted-point candidates
VERIFY_SEED_OFFSET = 2000  # seeds of the reported verification
SIGNIFICANT_DIGITS = 3
REFUGEE_STOCK = "refugee_stock_pakistan"
DERIVED_SERIES = {
    REFUGEE_STOCK: "Afghans (non-community groups) living in Pakistan that day, people "
    "(computed by calibrate, in-process runs only)"
}
FILES = ("calibration.md", "calibration.html", "calibration.png", "posterior.csv", "design.csv",
         "baseline_fitted.toml")  # fmt: skip


# ------------------------------------------------------------------------------------------------
# The spec
# ------------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorSpec(_Strict):
    """A uniform (or log-uniform) prior range of one uncertain parameter."""

    low: float
    high: float
    integer: bool = False
    log: bool = Field(False, description="sample uniformly on a log scale (needs low > 0)")
    source: str = Field("", description="why this parameter is uncertain and why this range")

    @model_validator(mode="after")
    def _ordered(self) -> PriorSpec:
        if not self.high > self.low:
            raise ValueError(f"'high' ({self.high}) must be greater than 'low' ({self.low})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-uniform prior needs 'low' > 0 (got {self.low})")
        return self


class TargetSpec(_Strict):
    """One published figure, the model quantity it maps to, and its tolerance range."""

    label: str
    role: Literal["fit", "check"] = "fit"
    metric: str = Field(min_length=1)
    statistic: Statistic = "total"
    denominator: str | None = None
    value: float
    low: float
    high: float
    unit: str = ""
    source: str = Field(min_length=1)
    mapping: str = Field("", description="how the figure maps to the model (interpretations)")
    scenario: dict[str, Any] = Field(
        default_factory=dict, description="overrides of a check run (dotted keys, as with --set)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> TargetSpec:
        if not self.low <= self.value <= self.high:
            raise ValueError(
                f"the target needs low <= value <= high (got {self.low}, {self.value}, {self.high})"
            )
        if self.role == "fit" and not self.high > self.low:
            raise ValueError("a fitted target needs a tolerance range: 'high' > 'low'")
        if (self.statistic == "share") != (self.denominator is not None):
            raise ValueError("'denominator' goes with statistic 'share', and only with it")
        if self.role == "fit" and self.scenario:
            raise ValueError("only check targets may run under their own 'scenario' overrides")
        if self.role == "fit" and self.statistic == "input":
            raise ValueError("statistic 'input' reads the scenario: it is a check, not a fit")
        return self


class DesignSettings(_Strict):
    """How the posterior is searched."""

    samples: int = Field(100, ge=4, le=1_000_000, description="Latin hypercube points")
    accept_share: float = Field(0.1, gt=0.0, le=1.0, description="ABC rejection: share kept")
    surrogate_draws: int = Field(20_000, ge=100, le=10_000_000)
    candidates: int = Field(
        3, ge=1, le=100, description="fitted-point candidates compared on fresh seeds"
    )
    refine_samples: int = Field(
        0, ge=0, le=1_000_000,
        description="second wave: points drawn from the region the first surrogate cannot rule out",
    )  # fmt: skip


class CalibrationSpec(_Strict):
    """A validated calibration spec file."""

    name: str = "calibration"
    description: str = ""
    scenario: str = Field(min_length=1, description="base scenario: shipped name or path")
    seed: int = Field(1, ge=0, le=2**62)
    days: int | None = Field(None, ge=1, le=36_500)
    # At most 1,000 each, so the design's seeds (seed + 0 …), the candidates' (seed + 1000 …) and
    # the verification's (seed + 2000 …) never overlap.
    replicates: int = Field(2, ge=1, le=FRESH_SEED_OFFSET)
    verify_replicates: int = Field(10, ge=2, le=VERIFY_SEED_OFFSET - FRESH_SEED_OFFSET)
    design: DesignSettings = DesignSettings()
    parameters: dict[str, PriorSpec] = Field(min_length=1)
    targets: dict[str, TargetSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_fitted_target(self) -> CalibrationSpec:
        if not any(t.role == "fit" for t in self.targets.values()):
            raise ValueError('at least one target needs role = "fit" (allowed: fit, check)')
        return self

    def fitted_targets(self) -> dict[str, TargetSpec]:
        """The targets the parameters are fitted to, in file order."""
        return {k: t for k, t in self.targets.items() if t.role == "fit"}


@dataclass(frozen=True)
class Calibration:
    """A loaded spec with its base scenario, checked against the schema and the metrics."""

    spec: CalibrationSpec
    source: Path
    source_sha256: str  # the spec file and command-line values: names the report's source
    base_path: Path
    base: Scenario  # with the spec's days applied

    @property
    def design_sha256(self) -> str:
        """The identity of the design runs: only what decides which runs are made.

        The effective base scenario (its content, with the spec's days), the priors' ranges and
        scales, the seed, replicates and the sampling settings. Comments, sources, targets and
        tolerances are left out, so editing them reuses the stored runs (a second wave drawn
        elsewhere because a fitted target moved is simply run on top: runs are identified by
        their full scenario).
        """
        spec = self.spec
        identity = {
            "base": self.base.model_dump(mode="json"),
            "priors": {key: prior.model_dump(exclude={"source"})
                       for key, prior in spec.parameters.items()},
            "seed": spec.seed,
            "replicates": spec.replicates,
            "samples": spec.design.samples,
            "refine_samples": spec.design.refine_samples,
            "surrogate_draws": spec.design.surrogate_draws,
        }  # fmt: skip
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    @property
    def names(self) -> list[str]:
        """Parameter keys, in file order."""
        return list(self.spec.parameters)

    @property
    def design_parameters(self) -> list[designs.Parameter]:
        """The priors as design parameters (ranges, integer and log scale), in file order."""
        return [designs.Parameter(key, low=p.low, high=p.high, integer=p.integer, log=p.log)
                for key, p in self.spec.parameters.items()]  # fmt: skip


def load_calibration(
    path: str | Path,
    resolve_scenario: Callable[[str, Path], Path],
    *,
    samples: int | None = None,
    replicates: int | None = None,
) -> Calibration:
    """Read and validate a calibration spec (command-line values override the file's).

    Args:
        path: The spec TOML file.
        resolve_scenario: Maps the spec's ``scenario`` entry and the spec's folder to a file path.
        samples: Overrides ``design.samples``.
        replicates: Overrides ``replicates``.

    Raises:
        ScenarioError: For any problem, naming the file and the key (and what is allowed).
    """
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
        document = parse_toml(raw.decode("utf-8"), source)
    except FileNotFoundError:
        raise ScenarioError(source, ["no such file"]) from None
    except IsADirectoryError:
        raise ScenarioError(source, ["is a directory, not a calibration spec"]) from None
    except UnicodeDecodeError:
        raise ScenarioError(source, ["not UTF-8 text"]) from None
    if samples is not None:
        document.setdefault("design", {})
        if isinstance(document["design"], dict):
            document["design"]["samples"] = samples
    if replicates is not None:
        document["replicates"] = replicates
    try:
        spec = CalibrationSpec.model_validate(document)
    except ValidationError as error:
        problems = [spec_problem(e, CalibrationSpec, {"design": DesignSettings},
                                 {"parameters": PriorSpec, "targets": TargetSpec})
                    for e in error.errors()]  # fmt: skip
        raise ScenarioError(source, problems) from None

    base_path = resolve_scenario(spec.scenario, path.parent)
    try:
        base = load_scenario(base_path)
    except ScenarioError as error:
        raise ScenarioError(
            source, [f"scenario: {error.source}: {p}" for p in error.problems]
        ) from None
    if spec.days is not None:
        base = with_overrides(base, {"horizon_days": spec.days}, source)
    _check_parameters(spec, base, source)
    _check_writable(spec, Path(base_path), source)
    _check_targets(spec, base, source)
    terms = quadratic_terms(len(spec.parameters))
    if spec.design.samples < terms + 2:
        raise ScenarioError(
            source,
            [
                f"design.samples: {spec.design.samples} points are too few for a quadratic "
                f"surrogate of {len(spec.parameters)} parameters (allowed: >= {terms + 2})"
            ],
        )
    effective = json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    return Calibration(
        spec=spec,
        source=path,
        source_sha256=hashlib.sha256(raw + b"\0" + effective).hexdigest(),
        base_path=Path(base_path),
        base=base,
    )


def dotted_value(document: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted key of a scenario document, or KeyError."""
    node: Any = document
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return node


def _check_parameters(spec: CalibrationSpec, base: Scenario, source: str) -> None:
    """Every parameter is a numeric field of the scenario, and its whole prior range is valid."""
    document = base.model_dump(mode="json")
    problems = []
    for key, prior in spec.parameters.items():
        where = f'parameters."{key}"'
        for bound in ("low", "high"):
            try:
                with_overrides(base, {key: getattr(prior, bound)}, source)
            except ScenarioError as error:
                problems += [f"{where}.{bound}: {p}" for p in error.problems]
                break
        else:
            current = dotted_value(document, key)
            if isinstance(current, bool) or not isinstance(current, int | float):
                problems.append(f"{where}: not a numeric parameter (it holds {current!r})")
    if problems:
        raise ScenarioError(source, problems)


def _check_writable(spec: CalibrationSpec, base_path: Path, source: str) -> None:
    """Every parameter can be written into a copy of the base file and read back from it.

    The fitted scenario file is the base file with the fitted values written in
    (:func:`set_toml_values`), so a key it cannot write must be refused before anything runs.
    """
    text = base_path.read_text()
    problems = []
    for key, prior in spec.parameters.items():
        where = f'parameters."{key}"'
        value = _cast(prior, prior.low)
        try:
            document = parse_toml(set_toml_values(text, {key: value}), str(base_path))
            document.setdefault("name", base_path.stem)
            written = dotted_value(validate_document(document, source).model_dump(mode="json"), key)
        except (ValueError, KeyError, ScenarioError):
            written = None
        if written != value:
            problems.append(
                f"{where}: cannot be written into the fitted scenario file (allowed: "
                "'section.key' parameters of a plain table, such as 'population.traders')"
            )
    if problems:
        raise ScenarioError(source, problems)


def _check_targets(spec: CalibrationSpec, base: Scenario, source: str) -> None:
    """Metric names exist (probed with a one-day run), input keys exist, overrides are valid."""
    from borderabm.experiments.engines import geography
    from borderabm.model import BorderModel

    probe_settings = with_overrides(base, {"horizon_days": 1}, source)
    world, routes = geography(probe_settings)
    model = BorderModel(probe_settings, world=world, routes=routes)
    model.run(1)
    columns = set(model.timeseries().columns) | set(DERIVED_SERIES)
    summary = set(model.summary())
    document = base.model_dump(mode="json")
    problems = []
    for name, target in spec.targets.items():
        where = f"targets.{name}"
        if target.statistic == "input":
            try:
                dotted_value(document, target.metric)
            except KeyError:
                problems.append(f"{where}.metric: '{target.metric}' is not a scenario key")
            continue
        for key in ("metric", "denominator"):
            metric = getattr(target, key)
            if metric is None:
                continue
            if metric in DERIVED_SERIES and target.role == "fit":
                problems.append(
                    f"{where}.{key}: '{metric}' is computed only in check runs (allowed for "
                    f'role = "check")'
                )
            elif metric not in columns and metric not in summary:
                problems.append(f"{where}.{key}: unknown metric '{metric}'; "
                                + _allowed_metrics(metric, summary, columns))  # fmt: skip
            elif metric not in columns and target.statistic not in SUMMARY_STATISTICS:
                problems.append(
                    f"{where}.statistic: '{target.statistic}' needs a daily series, and "
                    f"'{metric}' is a run total (allowed: {', '.join(SUMMARY_STATISTICS)})"
                )
        if target.statistic == "per_open_day":
            gate = target.metric.rsplit(".", 1)[-1]
            if f"open.{gate}" not in columns:
                problems.append(
                    f"{where}.statistic: 'per_open_day' needs a per-gate metric such as "
                    f"'formal_trade_usd.Torkham' (got '{target.metric}')"
                )
        if target.scenario:
            try:
                with_overrides(base, target.scenario, source)
            except ScenarioError as error:
                problems += [f"{where}.scenario: {p}" for p in error.problems]
    if problems:
        raise ScenarioError(source, problems)


def _allowed_metrics(name: str, summary: set[str], columns: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(summary | columns), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    families = sorted({c.split(".", 1)[0] + ".<name>" for c in columns if "." in c})
    return (f"{hint}(allowed: run totals {', '.join(sorted(summary))}; daily series "
            f"{', '.join(sorted(c for c in columns if '.' not in c))}; breakdowns "
            f"{', '.join(families)})")  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Design and runs
# ------------------------------------------------------------------------------------------------
def unit_to_values(calibration: Calibration, unit: np.ndarray) -> np.ndarray:
    """Map points of the unit cube to parameter values (log-uniform where asked)."""
    return designs.from_unit(calibration.design_parameters, unit)


def values_to_unit(calibration: Calibration, values: np.ndarray) -> np.ndarray:
    """Map parameter values to the unit cube (the inverse of :func:`unit_to_values`)."""
    return designs.to_unit(calibration.design_parameters, values)


def _cast(prior: PriorSpec, value: float) -> int | float:
    return int(round(value)) if prior.integer else float(value)


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
        Sweep,
        SweepSpec,
        _run_spec,
    )

    spec = calibration.spec
    points = design_points(calibration) + list(extra or [])
    runs = []
    for index, point in enumerate(points):
        for replicate in range(spec.replicates):
            overrides = {**point, "seed": spec.seed + replicate}
            settings = with_overrides(calibration.base, overrides, str(calibration.source))
            runs.append(_run_spec(settings, index, replicate, point))
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
    days = float(summary.get("days") or (len(series) if series is not None else 0))

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
    column = series[target.metric].to_numpy(dtype=float)
    if statistic == "per_open_day":
        gate = target.metric.rsplit(".", 1)[-1]
        open_days = float(series[f"open.{gate}"].sum())
        return float(column.sum()) / open_days if open_days else math.nan
    if not column.size:
        return math.nan
    return float({"first": column[0], "mean": column.mean(), "max": column.max()}[statistic])


def _series_columns(targets: Mapping[str, TargetSpec]) -> list[str]:
    columns: list[str] = []
    for target in targets.values():
        if target.statistic == "input":
            continue
        columns += [target.metric] + ([target.denominator] if target.denominator else [])
        if target.statistic == "per_open_day":
            columns.append("open." + target.metric.rsplit(".", 1)[-1])
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
        row = {"point": run.point, "replicate": run.replicate, "seed": run.seed}
        for name, target in targets.items():
            row[name] = quantity(target, summary, series, calibration.base)
        rows.append(row)
    return pd.DataFrame(rows)


def simulate(settings: Scenario, seeds: list[int], derived: bool = False
             ) -> list[tuple[dict[str, float], pd.DataFrame]]:  # fmt: skip
    """Run a scenario once per seed in this process; return (summary, daily series) per run.

    Args:
        settings: The scenario.
        seeds: One run per seed.
        derived: Also record the derived daily series of :data:`DERIVED_SERIES`.
    """
    from borderabm.agents.refugees import COMMUNITY, DEAD
    from borderabm.experiments.engines import geography
    from borderabm.geography.world import PK
    from borderabm.model import BorderModel

    results = []
    for seed in seeds:
        run_settings = with_overrides(settings, {"seed": seed}, "calibrate")
        world, routes = geography(run_settings)
        model = BorderModel(run_settings, world=world, routes=routes)
        stock = []
        for _ in range(run_settings.horizon_days):
            model.step()
            if derived:
                refugees = model.refugees
                living = ((refugees.group != COMMUNITY) & (refugees.side == PK)
                          & (refugees.state != DEAD))  # fmt: skip
                stock.append(float(np.count_nonzero(living) * model.people_per_agent))
        series = model.timeseries()
        if derived:
            series = pd.concat([series, pd.DataFrame({REFUGEE_STOCK: stock})], axis=1)
        results.append((model.summary(), series))
    return results


# ------------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------------
def quadratic_terms(dimensions: int) -> int:
    """Columns of a full quadratic model in ``dimensions`` variables (with the constant)."""
    return 1 + dimensions + dimensions * (dimensions + 1) // 2


def quadratic_features(unit: np.ndarray) -> np.ndarray:
    """Constant, linear and all second-order terms of points centred on the unit cube."""
    centred = np.asarray(unit, dtype=float) - 0.5
    columns = [np.ones(len(centred))]
    columns += [centred[:, i] for i in range(centred.shape[1])]
    columns += [centred[:, i] * centred[:, j]
                for i in range(centred.shape[1]) for j in range(i, centred.shape[1])]  # fmt: skip
    return np.column_stack(columns)


@dataclass(frozen=True)
class Surrogate:
    """A quadratic regression of one quantity (or of its logarithm) on the unit-scaled parameters."""

    coefficients: np.ndarray
    r2: float
    q2: float  # leave-one-out (predictive) R², on the scale of the fit
    log: bool  # fitted to log(quantity)
    rmse: float  # leave-one-out root mean square error, on the scale of the fit
    points: int  # design points it was fitted to

    def predict(self, unit: np.ndarray) -> np.ndarray:
        """Predicted quantity at points of the unit cube."""
        linear = quadratic_features(unit) @ self.coefficients
        return np.exp(linear) if self.log else linear

    def error(self, predicted: np.ndarray) -> np.ndarray:
        """The surrogate's typical error (leave-one-out RMSE) around predictions, in their units."""
        return np.abs(predicted) * self.rmse if self.log else np.full_like(predicted, self.rmse)


def fit_surrogate(unit: np.ndarray, y: np.ndarray) -> Surrogate:
    """Least-squares quadratic fit with its R² and leave-one-out Q² (from the hat matrix).

    A quantity that is positive at every design point is fitted on the log scale: trade and attack
    counts are close to products of the parameters (traders x value x trip rate), which are sums
    of logarithms, and so nearly quadratic in log-scaled parameters.
    """
    features = quadratic_features(unit)
    finite = np.isfinite(y)
    features, y = features[finite], y[finite]
    log = bool(y.size and np.all(y > 0))
    if log:
        y = np.log(y)
    coefficients, *_ = np.linalg.lstsq(features, y, rcond=None)
    residuals = y - features @ coefficients
    hat = np.einsum("ij,ji->i", features, np.linalg.pinv(features))
    loo = residuals / np.clip(1.0 - hat, 1e-9, None)
    spread = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residuals**2)) / spread if spread > 0 else 1.0
    q2 = 1.0 - float(np.sum(loo**2)) / spread if spread > 0 else 1.0
    rmse = float(np.sqrt(np.mean(loo**2))) if loo.size else 0.0
    return Surrogate(coefficients, r2, q2, log, rmse, int(y.size))


def deviations(values: np.ndarray, targets: list[TargetSpec]) -> np.ndarray:
    """``z`` per target: distance from the published value in units of the tolerance on that side.

    ``|z| <= 1`` means within the tolerance range. ``values`` has one column per target.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    z = np.empty_like(values)
    for column, target in enumerate(targets):
        v = values[:, column]
        above = np.maximum(target.high - target.value, 1e-300)
        below = np.maximum(target.value - target.low, 1e-300)
        z[:, column] = np.where(v >= target.value, (v - target.value) / above,
                                (v - target.value) / below)  # fmt: skip
    return np.where(np.isfinite(z), z, np.inf)


def distance(z: np.ndarray) -> np.ndarray:
    """Normalised distance of each row of deviations: the root mean square of ``z``."""
    return np.sqrt(np.mean(np.square(z), axis=1))


class CalibrationError(Exception):
    """Calibration cannot go on: no fitted point, or an unwritable output (runs stay stored).

    Args:
        message: What went wrong.
        source: The file or directory concerned (default: the spec file).
    """

    def __init__(self, message: str, source: str | None = None):
        super().__init__(message)
        self.source = source


@dataclass
class Fit:
    """What calibration found."""

    design: pd.DataFrame  # per design point: parameters, mean quantities, distance, accepted
    surrogates: dict[str, Surrogate]
    posterior: pd.DataFrame  # accepted surrogate draws: parameters, predictions, distance
    posterior_rule: str
    fitted: dict[str, int | float]
    ranges: pd.DataFrame  # per parameter: prior, ABC rejection and surrogate posterior ranges
    candidates: pd.DataFrame  # fitted-point candidates: origin, values (+ scores from select)
    verification: pd.DataFrame = field(default_factory=pd.DataFrame)  # per target


def implausibility(
    surrogates: Mapping[str, Surrogate], unit: np.ndarray, targets: list[TargetSpec]
) -> np.ndarray:
    """History matching: the largest, over targets, of |predicted - value| / sqrt(tol² + error²).

    The tolerance is the half-range on the side of the prediction, and the error the surrogate's
    leave-one-out RMSE, so a point is ruled out (> 1) only when it misses a target by more than the
    tolerance and the surrogate's own uncertainty together.
    """
    worst = np.zeros(len(unit))
    for target, surrogate in zip(targets, surrogates.values(), strict=True):
        predicted = surrogate.predict(unit)
        side = np.where(predicted >= target.value, target.high - target.value,
                        target.value - target.low)  # fmt: skip
        scale = np.sqrt(side**2 + surrogate.error(predicted) ** 2)
        gap = np.abs(predicted - target.value) / np.maximum(scale, 1e-300)
        worst = np.maximum(worst, np.where(np.isfinite(gap), gap, np.inf))
    return worst


def _draws(calibration: Calibration) -> np.ndarray:
    spec = calibration.spec
    return qmc.LatinHypercube(d=len(spec.parameters), seed=spec.seed + 1).random(
        spec.design.surrogate_draws
    )


def _design_table(
    calibration: Calibration, quantities: pd.DataFrame, points: list[dict[str, Any]]
) -> pd.DataFrame:
    spec = calibration.spec
    targets = spec.fitted_targets()
    computed = [name for name in design_targets(spec) if name in quantities]
    means = quantities.groupby("point")[computed].mean().reindex(range(len(points)))
    design = pd.DataFrame(points)
    design.insert(0, "point", range(len(points)))
    design.insert(1, "wave", [1 if i < spec.design.samples else 2 for i in range(len(points))])
    design = pd.concat([design, means.reset_index(drop=True)], axis=1)
    design["distance"] = distance(
        deviations(design[list(targets)].to_numpy(), list(targets.values()))
    )
    return design


def first_wave_region(calibration: Calibration, design: pd.DataFrame):
    """The global surrogates of the first (Latin hypercube) wave and the draws they cannot rule out.

    Returns:
        (surrogates, draws in the unit cube, mask of the draws with implausibility <= 1).
    """
    spec = calibration.spec
    targets = spec.fitted_targets()
    first = design[design["wave"] == 1]
    unit = values_to_unit(calibration, first[calibration.names].to_numpy(dtype=float))
    surrogates = {name: fit_surrogate(unit, first[name].to_numpy(dtype=float)) for name in targets}
    draws = _draws(calibration)
    region = implausibility(surrogates, draws, list(targets.values())) <= 1.0
    return surrogates, draws, region


def refine_points(calibration: Calibration, quantities: pd.DataFrame) -> list[dict[str, Any]]:
    """Second-wave points: a seeded sample of the draws the first wave cannot rule out."""
    spec = calibration.spec
    count = spec.design.refine_samples
    if not count:
        return []
    design = _design_table(calibration, quantities, design_points(calibration))
    surrogates, draws, region = first_wave_region(calibration, design)
    candidates = np.flatnonzero(region)
    if candidates.size < count:  # too small a region: take the least implausible draws
        worst = implausibility(surrogates, draws, list(spec.fitted_targets().values()))
        candidates = np.argsort(worst, kind="stable")[: max(count, 1)]
    rng = np.random.default_rng(spec.seed + 2)
    chosen = np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))
    values = unit_to_values(calibration, draws[chosen])
    priors = list(spec.parameters.values())
    return [{key: _cast(prior, v) for key, prior, v in zip(spec.parameters, priors, row,
                                                             strict=True)}
            for row in values]  # fmt: skip


def fit(
    calibration: Calibration, quantities: pd.DataFrame, points: list[dict[str, Any]] | None = None
) -> Fit:
    """ABC rejection on the first wave, surrogate ABC (refined by a second wave); the fitted point.

    Args:
        calibration: The loaded spec.
        quantities: Per design run, its point and target quantities (:func:`design_quantities`).
        points: Every simulated design point (first wave, then second); default: the first wave.
    """
    spec = calibration.spec
    names = calibration.names
    targets = spec.fitted_targets()
    target_list = list(targets.values())
    points = points or design_points(calibration)
    design = _design_table(calibration, quantities, points)
    first = design["wave"] == 1
    keep = max(1, math.ceil(spec.design.accept_share * int(first.sum())))
    order = design.loc[first, "distance"].sort_values(kind="stable").index[:keep]
    design["accepted"] = design.index.isin(order)

    surrogates, draws_unit, region = first_wave_region(calibration, design)
    first_surrogates = surrogates
    candidates = np.arange(len(draws_unit))
    stage = "a quadratic surrogate of each fitted quantity fitted to the first wave"
    if (design["wave"] == 2).any():
        # Refit where it matters: on the simulated points (of both waves) that the first wave could
        # not rule out, so the quadratic is local to the posterior region; score only the draws in
        # that region (the first-wave surrogate has ruled out the rest).
        unit_all = values_to_unit(calibration, design[names].to_numpy(dtype=float))
        near = implausibility(surrogates, unit_all, target_list) <= 1.0
        if near.sum() < quadratic_terms(len(names)) + 2:
            worst = implausibility(surrogates, unit_all, target_list)
            near = worst <= np.sort(worst)[quadratic_terms(len(names)) + 1]
        surrogates = {name: fit_surrogate(unit_all[near], design.loc[near, name].to_numpy(float))
                      for name in targets}  # fmt: skip
        candidates = np.flatnonzero(region)
        stage = (f"a first-wave quadratic surrogate left {region.sum():,} of {len(region):,} prior "
                 f"draws plausible (history matching, tolerance and surrogate error together); "
                 f"{int((design['wave'] == 2).sum())} second-wave points were drawn there and "
                 f"the surrogate refitted to the {int(near.sum())} simulated points in that "
                 "region")  # fmt: skip
        if candidates.size < MIN_ACCEPTED:
            # Too small (or empty) a region, e.g. targets the model cannot meet together: score
            # the least implausible draws instead, so the posterior is never empty.
            worst = implausibility(first_surrogates, draws_unit, target_list)
            candidates = np.sort(np.argsort(worst, kind="stable")[:MIN_ACCEPTED])
            stage += (f"; as fewer than {MIN_ACCEPTED} draws were plausible, the "
                      f"{candidates.size} least implausible draws were scored instead")  # fmt: skip
    predicted = np.column_stack([surrogates[name].predict(draws_unit[candidates])
                                 for name in targets])  # fmt: skip
    draw_z = deviations(predicted, target_list)
    draw_distance = distance(draw_z)
    inside = np.all(np.abs(draw_z) <= 1.0, axis=1)
    if inside.sum() >= MIN_ACCEPTED:
        chosen = np.flatnonzero(inside)
        rule = (f"{stage}; {inside.sum():,} of {len(draws_unit):,} prior draws are predicted "
                "within every fitted target's tolerance")  # fmt: skip
    else:
        count = max(MIN_ACCEPTED, math.ceil(spec.design.accept_share * len(inside)))
        chosen = np.argsort(draw_distance, kind="stable")[:count]
        chosen = chosen[np.isfinite(draw_distance[chosen])]
        rule = (f"{stage}; only {inside.sum():,} prior draws were predicted within every "
                f"tolerance, so the posterior is the {chosen.size:,} scored draws closest to the "
                "targets")  # fmt: skip
    if not chosen.size:
        raise CalibrationError(
            "no prior draw has a finite predicted distance to the fitted targets, so there is no "
            "posterior; the design runs are kept in the store (check the targets' metrics)"
        )
    accepted = candidates[chosen]
    values = unit_to_values(calibration, draws_unit[accepted])
    posterior = pd.DataFrame(values, columns=names)
    for column, name in enumerate(targets):
        posterior[f"predicted.{name}"] = predicted[chosen, column]
    posterior["distance"] = draw_distance[chosen]

    # Candidates for the fitted point: simulated points whose replicate means meet every tolerance
    # (they have been run, so surrogate error cannot mislead), nearest the posterior median first;
    # else the posterior draws nearest the median. :func:`select` picks among them on fresh seeds.
    median_unit = np.median(draws_unit[accepted], axis=0)
    met = np.all(np.abs(deviations(design[list(targets)].to_numpy(), target_list)) <= 1.0, axis=1)
    count = spec.design.candidates
    if met.any():
        unit_met = values_to_unit(calibration, design.loc[met, names].to_numpy(dtype=float))
        order = np.argsort(np.sum((unit_met - median_unit) ** 2, axis=1), kind="stable")[:count]
        best = design.loc[met, names].to_numpy(dtype=float)[order]
        where = [f"simulated point {int(p)}" for p in design.loc[met, "point"].to_numpy()[order]]
        rule += (f"; fitted-point candidates: the {len(order)} of the {int(met.sum())} simulated "
                 "points whose replicate means meet every tolerance nearest the posterior "
                 "median")  # fmt: skip
    else:
        order = np.argsort(np.sum((draws_unit[accepted] - median_unit) ** 2, axis=1),
                           kind="stable")[:count]  # fmt: skip
        best = unit_to_values(calibration, draws_unit[accepted[order]])
        where = [f"posterior draw {int(i)}" for i in accepted[order]]
        rule += ("; no simulated point met every tolerance, so the fitted-point candidates are "
                 f"the {len(order)} posterior draws nearest the posterior median")  # fmt: skip
    candidates = [
        {"origin": origin}
        | {key: _cast(prior, _round(value))
           for (key, prior), value in zip(spec.parameters.items(), row, strict=True)}
        for origin, row in zip(where, best, strict=True)
    ]  # fmt: skip
    fitted = {key: value for key, value in candidates[0].items() if key != "origin"}

    base_document = calibration.base.model_dump(mode="json")
    rows = []
    sims = design[design["accepted"]]
    for key, prior in spec.parameters.items():
        rows.append({
            "parameter": key,
            "default": dotted_value(base_document, key),
            "prior_low": prior.low,
            "prior_high": prior.high,
            "prior_scale": "log-uniform" if prior.log else "uniform",
            "abc_low": float(sims[key].quantile(0.05)),
            "abc_high": float(sims[key].quantile(0.95)),
            "posterior_low": float(posterior[key].quantile(0.05)),
            "posterior_median": float(posterior[key].median()),
            "posterior_high": float(posterior[key].quantile(0.95)),
            "fitted": fitted[key],
            "source": prior.source,
        })  # fmt: skip
    return Fit(design, surrogates, posterior, rule, fitted, pd.DataFrame(rows),
               pd.DataFrame(candidates))  # fmt: skip


def _round(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def fitted_scenario(calibration: Calibration, fitted: Mapping[str, Any]) -> Scenario:
    """The base scenario with the fitted values."""
    return with_overrides(calibration.base, dict(fitted), str(calibration.source))


def select(calibration: Calibration, result: Fit) -> None:
    """Pick the fitted point among the candidates by their fit on fresh seeds (in place).

    Each candidate is run with ``verify_replicates`` seeds from ``seed + 1000`` (seeds the design
    never used); the one whose replicate means are closest to the fitted targets (by √(mean z²))
    becomes ``result.fitted``. Its reported verification then uses yet other seeds
    (:func:`verify`, from ``seed + 2000``), so the selection does not flatter the report.
    """
    spec = calibration.spec
    targets = spec.fitted_targets()
    seeds = [spec.seed + FRESH_SEED_OFFSET + k for k in range(spec.verify_replicates)]
    scores = []
    for candidate in result.candidates.to_dict("records"):
        values = {k: v for k, v in candidate.items() if k != "origin"}
        runs = simulate(fitted_scenario(calibration, values), seeds)
        means = [np.mean([quantity(t, summary, series, calibration.base) for summary, series in runs])
                 for t in targets.values()]  # fmt: skip
        scores.append({f"selection.{name}": m for name, m in zip(targets, means, strict=True)}
                      | {"selection.distance": float(distance(deviations(
                          np.array([means]), list(targets.values())))[0])})  # fmt: skip
    result.candidates = pd.concat([result.candidates, pd.DataFrame(scores)], axis=1)
    best = int(np.argmin(result.candidates["selection.distance"].to_numpy()))
    result.candidates["chosen"] = [i == best for i in range(len(result.candidates))]
    chosen = result.candidates.iloc[best]
    result.fitted = {key: _cast(prior, chosen[key]) for key, prior in spec.parameters.items()}
    result.ranges["fitted"] = [result.fitted[key] for key in result.ranges["parameter"]]


def verify(calibration: Calibration, fitted: Mapping[str, Any]) -> pd.DataFrame:
    """Re-run the fitted point on fresh seeds and score every target (fits and checks).

    The seeds start at ``seed + 2000``: neither the design nor the choice among candidates
    (:func:`select`) used them.

    Returns:
        One row per target: name, role, label, statistic, value, low, high, unit, model mean and
        95% interval over the replicates, ``within`` (mean within [low, high]), z, source, mapping.
    """
    spec = calibration.spec
    settings = fitted_scenario(calibration, fitted)
    seeds = [spec.seed + VERIFY_SEED_OFFSET + k for k in range(spec.verify_replicates)]
    runs_by_overrides: dict[str, list] = {}
    rows = []
    for name, target in spec.targets.items():
        key = json.dumps(target.scenario, sort_keys=True, default=str)
        if target.statistic == "input":
            run_settings = with_overrides(settings, target.scenario, str(calibration.source))
            values = [quantity(target, {}, None, run_settings)]
        else:
            if key not in runs_by_overrides:
                run_settings = with_overrides(settings, target.scenario, str(calibration.source))
                runs_by_overrides[key] = [
                    (summary, series, run_settings)
                    for summary, series in simulate(run_settings, seeds, derived=True)
                ]
            values = [quantity(target, s, series, st) for s, series, st in runs_by_overrides[key]]
        level = interval(values)
        z = float(deviations(np.array([[level.mean]]), [target])[0, 0]) if target.high > target.low \
            else (0.0 if math.isclose(level.mean, target.value) else math.inf)  # fmt: skip
        rows.append({
            "target": name, "role": target.role, "label": target.label,
            "statistic": target.statistic, "metric": target.metric, "value": target.value,
            "low": target.low, "high": target.high, "unit": target.unit, "mean": level.mean,
            "ci_low": level.low, "ci_high": level.high, "replicates": len(values),
            "within": bool(target.low <= level.mean <= target.high), "z": z,
            "source": target.source, "mapping": target.mapping,
            "overrides": ", ".join(f"{k} = {v}" for k, v in target.scenario.items()),
        })  # fmt: skip
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# The fitted scenario file
# ------------------------------------------------------------------------------------------------
def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(value)) if not float(value).is_integer() else f"{value:.1f}"
    return json.dumps(value)


def set_toml_values(text: str, values: Mapping[str, Any]) -> str:
    """Write ``section.key`` values into TOML text, keeping its comments and layout.

    A key already in its ``[section]`` has its value replaced (a trailing comment is kept); a
    missing key goes at the end of its section; a missing section is added before the first array
    of tables (or at the end).

    Raises:
        ValueError: For a key that is not of the form ``section.key``.
    """
    lines = text.splitlines()
    for dotted, value in values.items():
        parts = dotted.split(".")
        if len(parts) != 2:
            raise ValueError(f"'{dotted}': only section.key parameters can be written to a file")
        section, key = parts
        literal = _toml_literal(value)
        header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")
        start = next((i for i, line in enumerate(lines) if header.match(line)), None)
        if start is None:
            first_array = next((i for i, line in enumerate(lines)
                                if line.lstrip().startswith("[[")), None)  # fmt: skip
            block = [f"[{section}]", f"{key} = {literal}", ""]
            if first_array is None:
                lines += ([""] if lines and lines[-1].strip() else []) + block[:-1]
            else:
                at = first_array
                while at > 0 and lines[at - 1].lstrip().startswith("#"):
                    at -= 1  # keep the comment that introduces the array of tables with it
                lines[at:at] = block
            continue
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].lstrip().startswith("[")), len(lines))  # fmt: skip
        assignment = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)([^#]*?)(\s*#.*)?$")
        for i in range(start + 1, end):
            match = assignment.match(lines[i])
            if match:
                lines[i] = f"{match.group(1)}{literal}{match.group(3) or ''}"
                break
        else:
            last = max((i for i in range(start + 1, end) if lines[i].strip()
                        and not lines[i].lstrip().startswith("#")), default=start)  # fmt: skip
            lines.insert(last + 1, f"{key} = {literal}")
    return "\n".join(lines) + "\n"


def fitted_toml(calibration: Calibration, fitted: Mapping[str, Any], written: str) -> str:
    """The base scenario file with the fitted values and a header saying where they came from."""
    text = calibration.base_path.read_text()
    header = [
        f"# Written by `borderabm calibrate` on {written} from {_shown(calibration.source)}",
        f"# (spec sha256 {calibration.source_sha256[:16]}); base scenario "
        f"{_shown(calibration.base_path)}.",
        "# Fitted values (the rest of the file is the base scenario, unchanged):",
        *[f"#   {key} = {_toml_literal(value)}" for key, value in fitted.items()],
    ]
    return "\n".join(header) + "\n" + set_toml_values(text, fitted)


# ------------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------------
def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if abs(value) < 1e5 else short_number(float(value))
    value = float(value)
    if not math.isfinite(value):
        return "n/a"
    if abs(value) < 1e-9:  # rounding noise of an exact match
        return "0"
    if abs(value) >= 1e5:
        return short_number(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def chart(calibration: Calibration, result: Fit, out: Path) -> Path:
    """Prior against posterior for every parameter; verification against tolerance per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    names = calibration.names
    targets = result.verification
    columns = max(len(names), 1)
    fig, axes = plt.subplots(2, columns, figsize=(3.6 * columns, 6.4), squeeze=False)
    for ax, (key, prior) in zip(axes[0], calibration.spec.parameters.items(), strict=False):
        edges = (np.geomspace(prior.low, prior.high, 25) if prior.log
                 else np.linspace(prior.low, prior.high, 25))  # fmt: skip
        prior_points = result.design.loc[result.design["wave"] == 1, key]
        # Shares per bin (not densities): on log-spaced bins a log-uniform prior then looks flat.
        ax.hist(prior_points, bins=edges, weights=np.full(len(prior_points), 1 / len(prior_points)),
                color="#cccccc", label="prior (first-wave design)")  # fmt: skip
        posterior = result.posterior[key]
        ax.hist(posterior, bins=edges, weights=np.full(len(posterior), 1 / max(len(posterior), 1)),
                alpha=0.7, color="#3b75af", label="posterior")  # fmt: skip
        row = result.ranges.set_index("parameter").loc[key]
        ax.axvline(float(row["fitted"]), color="#c0504d", lw=2, label="fitted")
        ax.axvline(float(row["default"]), color="#333333", lw=1, ls="--", label="old default")
        if prior.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(key, fontsize=9)
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, loc="upper right")
    checks = targets.reset_index(drop=True)
    for ax in axes[1]:
        ax.set_visible(False)
    ax = fig.add_subplot(2, 1, 2)
    positions = np.arange(len(checks))
    scale = checks["value"].abs().replace(0, 1.0)
    ax.barh(positions, (checks["high"] - checks["low"]) / scale, left=checks["low"] / scale,
            color="#d9ead3", height=0.6, label="tolerance")  # fmt: skip
    ax.errorbar(checks["mean"] / scale, positions,
                xerr=[(checks["mean"] - checks["ci_low"]) / scale,
                      (checks["ci_high"] - checks["mean"]) / scale],
                fmt="o", color="#c0504d", label="model (fitted), 95% interval")  # fmt: skip
    ax.scatter(np.ones(len(checks)), positions, marker="|", s=300, color="#333333",
               label="published value")  # fmt: skip
    ax.set_yticks(positions, [f"{r.target} ({r.role})" for r in checks.itertuples()], fontsize=8)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("model / published value (symlog scale)")
    ax.legend(fontsize=7, loc="center left")
    ax.invert_yaxis()
    fig.suptitle(f"Calibration '{calibration.spec.name}': prior vs posterior, and fit per target")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda path: fig.savefig(path, dpi=100, format="png"))
    plt.close(fig)
    return out


def _tables(calibration: Calibration, result: Fit) -> dict[str, tuple[list[str], list[list[str]]]]:
    spec = calibration.spec
    fit_rows = []
    for r in result.verification.itertuples():
        if r.target in result.design:
            reach = f"{_number(result.design[r.target].min())} – {_number(result.design[r.target].max())}"
        else:
            reach = "not run on the design"
        fit_rows.append([
            r.target, r.role, r.label, f"{_number(r.value)} {r.unit}".strip(),
            f"{_number(r.low)} – {_number(r.high)}",
            f"{_number(r.mean)} [{_number(r.ci_low)} – {_number(r.ci_high)}]",
            "yes" if r.within else "**no**", _number(r.z), reach, r.source,
        ])  # fmt: skip
    mapping_rows = [[r.target, f"`{r.metric}` ({r.statistic})"
                     + (f"; run with {r.overrides}" if r.overrides else ""), r.mapping]
                    for r in result.verification.itertuples()]  # fmt: skip
    range_rows = []
    for r in result.ranges.itertuples():
        range_rows.append([
            f"`{r.parameter}`", _number(r.default),
            f"{_number(r.prior_low)} – {_number(r.prior_high)} ({r.prior_scale})",
            f"{_number(r.abc_low)} – {_number(r.abc_high)}",
            f"{_number(r.posterior_low)} – {_number(r.posterior_high)}",
            _number(r.posterior_median), f"**{_number(r.fitted)}**", r.source,
        ])  # fmt: skip
    surrogate_rows = [[name, "log" if s.log else "linear", str(s.points), f"{s.r2:.3f}", f"{s.q2:.3f}"]
                      for name, s in result.surrogates.items()]  # fmt: skip
    correlation = result.posterior[calibration.names].corr(method="spearman")
    corr_rows = [[f"`{a}`"] + [f"{correlation.loc[a, b]:+.2f}" for b in calibration.names]
                 for a in calibration.names]  # fmt: skip
    best = result.design.sort_values("distance").head(5)
    design_rows = [[str(int(r["point"]))] + [_number(r[k]) for k in calibration.names]
                   + [_number(r[t]) for t in spec.fitted_targets()] + [f"{r['distance']:.2f}"]
                   for _, r in best.iterrows()]  # fmt: skip
    fitted_names = list(spec.fitted_targets())
    candidate_rows = [
        [str(r["origin"]), *[_number(r[k]) for k in calibration.names],
         *[_number(r.get(f"selection.{t}", math.nan)) for t in fitted_names],
         f"{r.get('selection.distance', math.nan):.2f}", "**yes**" if r.get("chosen") else ""]
        for r in result.candidates.to_dict("records")
    ]  # fmt: skip
    return {
        "candidates": (["candidate", *[f"`{n}`" for n in calibration.names], *fitted_names,
                        "distance", "chosen"], candidate_rows),  # fmt: skip
        "fit": (["target", "role", "published figure", "value", "tolerance",
                 "model mean [95% interval]", "within", "z", "prior design range (point means)",
                 "source"], fit_rows),
        "mapping": (["target", "model quantity", "how the figure maps to the model"],
                    mapping_rows),
        "ranges": (["parameter", "old value", "prior", "ABC rejection 5–95%",
                    "posterior 5–95%", "posterior median", "fitted", "why uncertain"],
                   range_rows),
        "surrogate": (["fitted target", "scale", "points", "R²", "leave-one-out Q²"], surrogate_rows),
        "correlation": (["Spearman ρ (posterior)", *[f"`{n}`" for n in calibration.names]],
                        corr_rows),
        "design": (["point", *[f"`{n}`" for n in calibration.names],
                    *spec.fitted_targets(), "distance"], design_rows),
    }  # fmt: skip


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def clean(cell: str) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _intro(calibration: Calibration, result: Fit, meta: Mapping[str, Any]) -> list[str]:
    spec = calibration.spec
    fits = result.verification[result.verification["role"] == "fit"]
    fresh = spec.seed + FRESH_SEED_OFFSET
    verify_seed = spec.seed + VERIFY_SEED_OFFSET
    second = int((result.design["wave"] == 2).sum())
    return [
        f"Spec `{_shown(calibration.source)}` (sha256 {calibration.source_sha256[:16]}), base "
        f"scenario `{_shown(calibration.base_path)}`, written {meta['written']}; {meta['runs']} "
        "design runs "
        f"({spec.design.samples} Latin hypercube points"
        + (f" + {second} second-wave points" if second else "")
        + f", × {spec.replicates} replicates on seeds {spec.seed}–"
        f"{spec.seed + spec.replicates - 1}, {calibration.base.horizon_days} days), "
        f"{meta['executed']} of them run by this invocation, which took {meta['seconds']:.0f} s "
        "(finished runs are kept in the store and reused).",
        "**Method.** Every target is scored by z = (model − published) / (tolerance on that "
        "side), so |z| ≤ 1 is within tolerance. *ABC rejection* keeps the closest "
        f"{spec.design.accept_share:.0%} of the Latin hypercube points by √(mean z²) over the "
        "fitted targets. *Surrogate ABC* scores "
        f"{spec.design.surrogate_draws:,} fresh prior draws with quadratic surrogates of the fitted "
        f"quantities: {result.posterior_rule}. The posterior is the set of accepted draws. "
        f"Candidates are rounded to {SIGNIFICANT_DIGITS} significant digits and run with "
        f"{spec.verify_replicates} fresh seeds ({fresh}–{fresh + spec.verify_replicates - 1}); the "
        "closest to the fitted targets is the fitted point, verified with "
        f"{spec.verify_replicates} other fresh seeds ({verify_seed}–"
        f"{verify_seed + spec.verify_replicates - 1}); *within* means the model mean lies in the "
        "tolerance range. Checks are not fitted; those with their own overrides are run on the "
        "fitted scenario with the same verification seeds.",
        f"**Result.** {int(fits['within'].sum())} of {len(fits)} fitted targets and "
        f"{int(result.verification['within'].sum()) - int(fits['within'].sum())} of "
        f"{len(result.verification) - len(fits)} checks are within tolerance.",
    ]


def write_report(calibration: Calibration, result: Fit, out: Path,
                 meta: Mapping[str, Any]) -> list[Path]:  # fmt: skip
    """Write the Markdown and HTML reports, the chart, the CSVs and the fitted scenario."""
    out.mkdir(parents=True, exist_ok=True)
    spec = calibration.spec
    png = chart(calibration, result, out / "calibration.png")
    tables = _tables(calibration, result)
    titles = {
        "fit": "Fit per target (fitted point, fresh replicates)",
        "mapping": "How each target maps to the model",
        "ranges": "Parameters: prior and posterior ranges",
        "surrogate": "Surrogate quality",
        "correlation": "Posterior correlations (trade-offs between parameters)",
        "design": "Closest simulated design points (replicate means)",
        "candidates": "Fitted-point candidates on fresh seeds (means of the selection runs)",
    }
    fitted_lines = ", ".join(f"`{k} = {_toml_literal(v)}`" for k, v in result.fitted.items())
    md = [f"# Calibration: {spec.name}", "", spec.description, ""]
    md += [paragraph + "\n" for paragraph in _intro(calibration, result, meta)]
    md += [f"**Fitted values:** {fitted_lines}.", ""]
    for key, title in titles.items():
        md += [f"## {title}", "", _markdown_table(*tables[key]), ""]
    md += ["## Chart", "", "![prior vs posterior and fit per target](calibration.png)", ""]
    md += ["Files: `posterior.csv` (accepted surrogate draws with their predicted quantities), "
           "`design.csv` (simulated points, replicate means, distance, ABC acceptance), "
           "`baseline_fitted.toml` (the base scenario with the fitted values).", ""]  # fmt: skip
    atomic_write(out / "calibration.md", lambda path: path.write_text("\n".join(md)))

    image = base64.b64encode(png.read_bytes()).decode()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Calibration: {html.escape(spec.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1300px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}th{background:#f2f2f2}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Calibration: {html.escape(spec.name)}</h1><p>{html.escape(spec.description)}</p>",
    ]
    parts += [f"<p>{_md_inline(p)}</p>" for p in _intro(calibration, result, meta)]
    parts.append(f"<p>{_md_inline('**Fitted values:** ' + fitted_lines)}.</p>")
    for key, title in titles.items():
        header, rows = tables[key]
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>"
                     + "".join(f"<th>{_md_inline(h)}</th>" for h in header) + "</tr>")  # fmt: skip
        parts += ["<tr>" + "".join(f"<td>{_md_inline(c)}</td>" for c in row) + "</tr>"
                  for row in rows]  # fmt: skip
        parts.append("</table>")
    parts.append(
        f"<h2>Chart</h2><img alt='prior vs posterior' src='data:image/png;base64,{image}'>"
    )
    parts.append("</body></html>")
    atomic_write(out / "calibration.html", lambda path: path.write_text("\n".join(parts)))
    atomic_write(out / "posterior.csv", lambda path: result.posterior.to_csv(path, index=False))
    atomic_write(out / "design.csv", lambda path: result.design.to_csv(path, index=False))
    write_fitted_scenario(calibration, result.fitted, out / "baseline_fitted.toml", meta["written"])
    return [out / name for name in FILES]


def write_fitted_scenario(
    calibration: Calibration, fitted: Mapping[str, Any], path: Path, written: str
) -> None:
    """Write the fitted scenario file atomically, after reading it back to check the values.

    Raises:
        CalibrationError: If the written file does not load or does not hold the fitted values
            (the file is then not written).
    """
    text = fitted_toml(calibration, fitted, written)

    def write_and_check(temp: Path) -> None:
        temp.write_text(text)
        try:
            document = load_scenario(temp).model_dump(mode="json")
        except ScenarioError as error:
            raise CalibrationError(f"the fitted scenario does not load: {error}") from None
        wrong = {key: value for key, value in fitted.items()
                 if dotted_value(document, key) != value}  # fmt: skip
        if wrong:
            raise CalibrationError(f"the fitted scenario file does not hold {wrong}")

    atomic_write(path, write_and_check)


def _md_inline(text: str) -> str:
    escaped = html.escape(str(text))
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\*(.+?)\*", r"<i>\1</i>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------
def calibrate(
    calibration: Calibration,
    out: Path,
    *,
    workers: int,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> tuple[Fit, list[Path]]:
    """Run (or resume) the design, fit, verify and write the report into ``out``.

    Raises:
        StoreError: If ``out/store`` holds the runs of a different calibration.
        CalibrationError: If no fitted point can be found (the runs stay in the store).
    """
    result, meta = run_calibration(calibration, out, workers=workers, dask=dask, on_done=on_done)
    return result, write_report(calibration, result, out, meta)


def run_calibration(
    calibration: Calibration,
    out: Path,
    *,
    workers: int,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> tuple[Fit, dict[str, Any]]:
    """Run (or resume) the design into ``out/store``, fit and verify; write no report.

    Returns:
        The fit and what the report says about the runs (``written``, ``runs``, ``executed``,
        ``seconds``).

    Raises:
        StoreError: If ``out/store`` holds the runs of a different calibration.
        CalibrationError: If no fitted point can be found (the runs stay in the store).
    """
    import time

    from borderabm.experiments.runner import run_sweep

    started = time.perf_counter()
    sweep = design_sweep(calibration)
    store = ResultsStore(out / "store")
    executed = run_sweep(sweep, store, workers=workers, dask=dask, on_done=on_done)
    quantities = design_quantities(calibration, store, sweep)
    second = refine_points(calibration, quantities)
    if second:
        sweep = design_sweep(calibration, second)
        executed += run_sweep(sweep, store, workers=workers, dask=dask, on_done=on_done)
        quantities = design_quantities(calibration, store, sweep)
    result = fit(calibration, quantities, sweep.points)
    select(calibration, result)
    result.verification = verify(calibration, result.fitted)
    meta = {
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": len(sweep.runs),
        "executed": executed,
        "seconds": time.perf_counter() - started,
    }
    return result, meta


def command(
    spec_file: Path,
    out: Path | None,
    samples: int | None,
    replicates: int | None,
    workers: int | None,
    dask: str | None,
    console: Console,
    progress_console: Console | None = None,
    *,
    resolve_scenario: Callable[[str, Path], Path],
) -> Fit:
    """The ``borderabm calibrate`` command: load, run with progress, print the fit per target.

    ``resolve_scenario`` maps the spec's ``scenario`` entry (and the spec's folder) to a file, as
    the command line resolves scenario names (see :func:`load_calibration`).

    Raises:
        ScenarioError: For a bad spec (before anything runs).
        CalibrationError: If the output directory cannot be written (checked before anything
            runs, and again when the report is written), or no fitted point can be found.
        StoreError: If the output directory holds a different calibration's runs.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from borderabm.experiments.engines import default_workers
    from borderabm.runner import prepare_output_dir

    calibration = load_calibration(spec_file, resolve_scenario, samples=samples,
                                   replicates=replicates)  # fmt: skip
    out = out or Path("results") / f"calibration-{calibration.spec.name}"
    try:
        prepare_output_dir(out)
    except OSError as error:
        raise CalibrationError(f"cannot write: {error.strerror or error}", str(out)) from None
    spec = calibration.spec
    total = (spec.design.samples + spec.design.refine_samples) * spec.replicates
    console.print(f"{spec.name}: {total} design runs ({spec.design.samples} + "
                  f"{spec.design.refine_samples} points × {spec.replicates} replicates) into "
                  f"{out / 'store'}")  # fmt: skip
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=progress_console or console) as progress:
        done_before = len(ResultsStore(out / "store").done())
        task = progress.add_task("design runs", total=total, completed=min(done_before, total))
        result, meta = run_calibration(calibration, out, workers=workers or default_workers(),
                                       dask=dask,
                                       on_done=lambda _: progress.update(task, advance=1))  # fmt: skip
    table = Table(title=f"Calibration {spec.name}: fit per target at the fitted point "
                  f"({spec.verify_replicates} fresh replicates)")  # fmt: skip
    for column in ("target", "role", "published", "tolerance", "model mean [95%]", "within"):
        table.add_column(column, justify="left" if column in ("target", "role") else "right")
    for r in result.verification.itertuples():
        table.add_row(r.target, r.role, _number(r.value), f"{_number(r.low)} – {_number(r.high)}",
                      f"{_number(r.mean)} [{_number(r.ci_low)} – {_number(r.ci_high)}]",
                      "yes" if r.within else "[red]no[/]")  # fmt: skip
    console.print(table)
    ranges = Table(title="Posterior ranges (5–95%) and fitted values")
    for column in ("parameter", "prior", "posterior", "fitted"):
        ranges.add_column(column, justify="left" if column == "parameter" else "right")
    for r in result.ranges.itertuples():
        ranges.add_row(r.parameter, f"{_number(r.prior_low)} – {_number(r.prior_high)}",
                       f"{_number(r.posterior_low)} – {_number(r.posterior_high)}",
                       _number(r.fitted))  # fmt: skip
    console.print(ranges)
    # The tables are printed first, so a failure to write the files loses nothing computed.
    try:
        written = write_report(calibration, result, out, meta)
    except OSError as error:
        raise CalibrationError(
            f"cannot write the report: {error.strerror or error} (the runs are kept in the store)",
            str(out),
        ) from None
    console.print("wrote " + ", ".join(str(p) for p in written))
    return result
