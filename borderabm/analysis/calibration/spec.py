"""Calibration specs: the schema of a spec file, and loading it with every check up front.

A spec names a base scenario, the uncertain parameters with their prior ranges, and the targets
(published figures with a tolerance range and a source). :func:`load_calibration` refuses a bad spec
before anything runs, naming the file, the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from borderabm.analysis.calibration.surrogate import quadratic_terms
from borderabm.experiments import designs
from borderabm.experiments.sweep import spec_problem
from borderabm.metrics import MetricName, breakdown_column
from borderabm.scenario import (
    Scenario,
    ScenarioError,
    StrictModel,
    load_scenario,
    parse_toml,
    read_toml_file,
    scenario_from_document,
    with_overrides,
)
from borderabm.scenario.errors import did_you_mean
from borderabm.scenario.toml_write import set_toml_values

Statistic = Literal[
    "total",
    "per_year",
    "per_day",
    "per_open_day",
    "per_closed_day",
    "share",
    "first",
    "mean",
    "max",
    "input",
]
# Statistics of a per-gate metric over the days its gate was open, or closed.
GATE_DAY_STATISTICS = ("per_open_day", "per_closed_day")
# Statistics of a whole run that summary metrics (not only daily series columns) can give.
SUMMARY_STATISTICS = ("total", "per_year", "per_day", "share")
# Seeds: the design uses seed + 0 …, the choice among candidates seed + 1000 …, the reported
# verification seed + 2000 …; replicates and verify_replicates are capped so they never overlap.
FRESH_SEED_OFFSET = 1000
VERIFY_SEED_OFFSET = 2000
REFUGEE_STOCK = "refugee_stock_pakistan"
DERIVED_SERIES = {
    REFUGEE_STOCK: "Afghans (non-community groups) living in Pakistan that day, people "
    "(computed by calibrate, in-process runs only)"
}


class PriorSpec(StrictModel):
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


class TargetSpec(StrictModel):
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


class DesignSettings(StrictModel):
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


class CalibrationSpec(StrictModel):
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


class CalibrationError(Exception):
    """Calibration cannot go on: no fitted point, or an unwritable output (runs stay stored).

    Args:
        message: What went wrong.
        source: The file or directory concerned (default: the spec file).
    """

    def __init__(self, message: str, source: str | None = None):
        super().__init__(message)
        self.source = source


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
    raw, document = read_toml_file(path, "calibration spec")
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


def as_prior_type(prior: PriorSpec, value: float) -> int | float:
    """A value as the prior's type: rounded to an integer for integer parameters."""
    return int(round(value)) if prior.integer else float(value)


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
        value = as_prior_type(prior, prior.low)
        try:
            document = parse_toml(set_toml_values(text, {key: value}), str(base_path))
            scenario = scenario_from_document(document, base_path)
            written = dotted_value(scenario.model_dump(mode="json"), key)
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
    from borderabm.experiments.run import run_one

    probe = run_one(with_overrides(base, {"horizon_days": 1}, source))
    columns = set(probe.timeseries.columns) | set(DERIVED_SERIES)
    summary = set(probe.summary)
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
        if target.statistic in GATE_DAY_STATISTICS:
            gate = target.metric.rsplit(".", 1)[-1]
            if breakdown_column(MetricName.OPEN, gate) not in columns:
                problems.append(
                    f"{where}.statistic: '{target.statistic}' needs a per-gate metric such as "
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
    hint = did_you_mean(name, sorted(summary | columns))
    families = sorted({c.split(".", 1)[0] + ".<name>" for c in columns if "." in c})
    return (f"{hint}(allowed: run totals {', '.join(sorted(summary))}; daily series "
            f"{', '.join(sorted(c for c in columns if '.' not in c))}; breakdowns "
            f"{', '.join(families)})")  # fmt: skip
