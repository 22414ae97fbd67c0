"""Sweep files: which scenarios, which parameters vary and how, how many replicates.

```toml
name = "fence_vs_patrols"
scenarios = ["baseline", "trade_corridor"]  # shipped names, or paths relative to this file
replicates = 5
seed = 1                                      # replicate k of every point uses seed + k - 1
days = 180                                    # optional: overrides the scenarios' horizons
metrics = ["attacks", "formal_trade_usd"]     # summary metrics to report (empty: the headline set)
series = true                                 # keep the daily series of every run

[design]
kind = "lhs"                                  # factorial | lhs | sobol | morris
samples = 20

[parameters."fence.coverage"]
low = 0.5
high = 1.0

[parameters."patrols.units"]
low = 200
high = 1200
integer = true
```

A sweep expands into runs (scenario x design point x replicate), each with a stable id derived from
its content, so a re-run knows which runs are already done. :func:`run_sweep` executes the runs not
yet in a results store on an :class:`~borderabm.experiments.engines.Engine` and records the sweep in
the store's :class:`~borderabm.experiments.store.Manifest`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from borderabm.experiments.designs import DesignKind, Parameter, generate
from borderabm.experiments.engines import (
    Engine,
    SchedulerUnreachable,
    engine_for,
    run_into_store,
)
from borderabm.experiments.run import RunSpec
from borderabm.experiments.store import (
    DesignRecord,
    Manifest,
    ResultsStore,
    ScenarioRecord,
    SweepRecord,
    environment,
    now,
    write_failure,
)
from borderabm.experiments.uncertainty import Draws, typed_overrides
from borderabm.metrics import METRICS, is_metric
from borderabm.scenario import (
    Scenario,
    ScenarioError,
    StrictModel,
    parse_override,
    parse_toml,
    read_toml_file,
    replaced_dated_settings,
    scenario_from_document,
    with_levers,
)
from borderabm.scenario.errors import bounds_from_context, format_path, unknown_key

__all__ = [
    "MAX_RUNS",
    "MAX_VARIANTS",
    "MIN_VARIANTS",
    "VARIANT_DESIGN",
    "DesignSpec",
    "ParameterSpec",
    "RunSpec",
    "Sweep",
    "SweepSpec",
    "comparison_sweep",
    "load_sweep",
    "manifest_for",
    "parse_variant",
    "run_sweep",
    "variant_label",
    "variant_sweep",
]

# Keys a sweep may not vary: the sweep sets them alike for every run of a scenario.
SWEEP_FIXED_KEYS = {
    "seed": "the seeds come from the sweep's seed and replicates (allowed: levers and parameters)",
    "horizon_days": "every run lasts the sweep's days (allowed: levers and parameters; set days)",
    "name": "the scenario's name labels its runs (allowed: levers and parameters)",
}
# Bounds a sweep's size before it is expanded, so a typo (replicates = 100000) is an error line, not
# an hour spent listing runs nobody meant to make.
MAX_RUNS = 100_000


def design_size(spec: SweepSpec) -> int:
    """How many design points a sweep's design has, computed without generating them."""
    parameters = spec.parameters
    if not parameters:
        return 1
    if spec.design.kind == "factorial":
        size = 1
        for p in parameters.values():
            size *= max(len(p.levels or ()), 1)
        return size
    if spec.design.kind == "sobol":
        return spec.design.samples * (len(parameters) + 2)
    if spec.design.kind == "morris":
        return spec.design.samples * (len(parameters) + 1)
    return spec.design.samples


def check_size(spec: SweepSpec, source: str) -> None:
    """Refuse sweeps of more than :data:`MAX_RUNS` runs, before expanding them.

    Raises:
        ScenarioError: Naming the file and the keys that set the size.
    """
    runs = len(spec.scenarios) * design_size(spec) * spec.replicates
    if runs > MAX_RUNS:
        raise ScenarioError(source, [
            f"replicates: {runs:,} runs (scenarios x design points x replicates) is too many for "
            f"one sweep (allowed: at most {MAX_RUNS:,}; lower design.samples or replicates)"
        ])  # fmt: skip


class ParameterSpec(StrictModel):
    """Levels (factorial) or a range (sampled designs) for one dotted key."""

    levels: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _levels_or_range(self) -> ParameterSpec:
        ranged = self.low is not None or self.high is not None
        if self.levels is None and not ranged:
            raise ValueError("give 'levels' (factorial) or 'low' and 'high' (sampled designs)")
        if ranged and (self.low is None or self.high is None or self.high < self.low):
            raise ValueError("a range needs 'low' <= 'high'")
        return self


class DesignSpec(StrictModel):
    """The experimental design."""

    kind: DesignKind = "factorial"
    samples: int = Field(16, ge=1, le=1_000_000)


class SweepSpec(StrictModel):
    """A validated sweep file."""

    name: str = "sweep"
    description: str = ""
    scenarios: tuple[str, ...] = Field(min_length=1)
    replicates: int = Field(5, ge=1, le=100_000)
    seed: int = Field(1, ge=0, le=2**62)
    days: int | None = Field(None, ge=1, le=36_500)
    metrics: tuple[str, ...] = ()
    series: bool = True
    design: DesignSpec = DesignSpec()
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, metrics: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in metrics if not is_metric(name)]
        if unknown:
            raise ValueError(f"unknown metric {', '.join(map(repr, unknown))} (allowed: "
                             f"{', '.join(sorted(METRICS))}, or a breakdown such as "
                             "gate_people.Torkham)")  # fmt: skip
        return metrics

    @field_validator("parameters")
    @classmethod
    def _no_fixed_keys(cls, parameters: dict[str, ParameterSpec]) -> dict[str, ParameterSpec]:
        fixed = [
            f'"{key}": {SWEEP_FIXED_KEYS[key]}' for key in parameters if key in SWEEP_FIXED_KEYS
        ]
        if fixed:
            raise ValueError("; ".join(fixed))
        return parameters

    def parameter_list(self) -> list[Parameter]:
        """The varied parameters, in file order."""
        return [
            Parameter(key, p.levels, p.low, p.high, p.integer) for key, p in self.parameters.items()
        ]


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: its spec, where it came from, its scenarios and its runs."""

    spec: SweepSpec
    source: Path
    source_sha256: str
    scenario_files: dict[str, tuple[str, str]]  # name -> (path, sha256)
    points: list[dict[str, Any]]
    runs: list[RunSpec]
    draws: Draws | None = None  # a robust comparison's parameter draws (its worlds)
    # Lever variants of one scenario (its policies): without draws its points are the variants;
    # with draws, point v x worlds + w is variant v in world w.
    variants: list[dict[str, Any]] | None = None
    # Dated settings that a parameter, variant or draw replaces for the whole run (for notes).
    notes: tuple[str, ...] = ()


def load_sweep(path: str | Path, resolve_scenario) -> Sweep:
    """Read, validate and expand a sweep file.

    Args:
        path: The sweep TOML file.
        resolve_scenario: Callable mapping a scenario entry (name or relative path) and the sweep
            file's folder to a scenario file path.

    Raises:
        ScenarioError: For any problem, naming the file and key.
    """
    from borderabm.scenario import load_scenario

    path = Path(path)
    source = str(path)
    raw, document = read_toml_file(path, "sweep file")
    try:
        spec = SweepSpec.model_validate(document)
    except ValidationError as error:
        problems = [_sweep_problem(e) for e in error.errors()]
        raise ScenarioError(source, problems) from None
    check_size(spec, source)
    try:
        points = generate(spec.design.kind, spec.parameter_list(), spec.design.samples, spec.seed)
    except ValueError as error:
        raise ScenarioError(source, [f"design: {error}"]) from None

    scenario_files: dict[str, tuple[str, str]] = {}
    runs: list[RunSpec] = []
    notes: list[str] = []
    for entry in spec.scenarios:
        scenario_path = resolve_scenario(entry, path.parent)
        base = load_scenario(scenario_path)
        digest = hashlib.sha256(Path(scenario_path).read_bytes()).hexdigest()
        scenario_files[base.name] = (str(scenario_path), digest)
        notes += [f"{base.name}: {line}" for line in replaced_dated_settings(base, spec.parameters)]
        for index, point in enumerate(points):
            for replicate in range(spec.replicates):
                seed = spec.seed + replicate
                overrides = {**point, "seed": seed}
                if spec.days is not None:
                    overrides["horizon_days"] = spec.days
                try:
                    settings = with_levers(base, overrides, source)
                except ScenarioError as error:
                    raise ScenarioError(
                        source, [f"parameters at design point {index}: {p}" for p in error.problems]
                    ) from None
                runs.append(RunSpec.of_scenario(settings, index, replicate, point))
    return Sweep(
        spec=spec,
        source=path,
        source_sha256=hashlib.sha256(raw).hexdigest(),
        scenario_files=scenario_files,
        points=points,
        runs=runs,
        notes=tuple(notes),
    )


def comparison_sweep(
    scenario_paths: list[Path],
    replicates: int,
    seed: int,
    days: int | None,
    draws: Draws | None = None,
) -> Sweep:
    """Each scenario on the same seeds (for ``compare``), and on the same parameter draws if given.

    Args:
        scenario_paths: The scenarios; the first is the reference.
        replicates: Seeds per scenario (and per draw).
        seed: The first seed.
        days: Overrides the scenarios' horizons.
        draws: Plausible parameter sets (a robust comparison): every scenario runs on every draw
            x every seed, the draw's values laid over the scenario as ``--set`` would.

    Raises:
        ScenarioError: For a scenario that cannot be loaded, options out of range (``days``,
            ``replicates``, ``seed``), a draw the scenario schema refuses, or more runs than one
            sweep allows.
    """
    from borderabm.scenario import load_scenario

    source = "borderabm compare"
    try:
        spec = SweepSpec(
            name="compare-" + "-vs-".join(Path(p).stem for p in scenario_paths),
            scenarios=tuple(str(p) for p in scenario_paths),
            replicates=replicates,
            seed=seed,
            days=days,
            # Across worlds the summaries are what is compared; hundreds of daily series are not.
            series=draws is None,
        )
    except ValidationError as error:
        raise ScenarioError(source, [_sweep_problem(e) for e in error.errors()]) from None
    check_size(spec, source)  # before any scenario is loaded or any run listed
    points: list[dict[str, Any]] = draws.points if draws is not None else [{}]
    _check_runs(len(scenario_paths) * len(points) * replicates, draws)
    scenario_files: dict[str, tuple[str, str]] = {}
    bases: list[Scenario] = []
    for path in scenario_paths:
        base = load_scenario(path)
        if base.name in scenario_files:
            raise ScenarioError(str(path), [f"scenario name '{base.name}' appears twice"])
        scenario_files[base.name] = (str(path), hashlib.sha256(Path(path).read_bytes()).hexdigest())
        bases.append(base)
    if draws is not None:
        _check_drawn_keys_shared(bases, draws)
    runs: list[RunSpec] = []
    for path, base in zip(scenario_paths, bases, strict=True):
        runs += _policy_runs(base, str(path), {}, 0, draws, replicates, seed, days)[1]
    identity: list[Any] = [spec.model_dump(), sorted(scenario_files.items())]
    if draws is not None:  # a plain comparison keeps the fingerprint its stores were made with
        identity.append(points)
    return _compare_sweep(spec, identity, scenario_files, points, runs, draws=draws)


# Lever variants ----------------------------------------------------------------------------------
MIN_VARIANTS, MAX_VARIANTS = 2, 4
VARIANT_DESIGN = "variants"  # the manifest's design kind of a comparison of lever variants
# Keys a variant may not set: the comparison sets them alike for every variant (common seeds, one
# horizon), and the scenario's name labels every variant's runs.
FIXED_KEYS = {
    "name": "the scenario's name labels every variant (allowed: levers and parameters)",
    "seed": "the seeds are common to every variant (allowed: levers and parameters; set the "
    "first seed with --seed)",
    "horizon_days": "every variant runs the same days (allowed: levers and parameters; set the "
    "days with --days)",
    # The same dates: a dated change or closure must fall on the same day of every variant, so
    # a paired difference is the levers' effect, not the calendar's.
    "start_date": "every variant runs the same dates (allowed: levers and parameters)",
}
_ITEM_SEPARATORS = " \t,;"


def variant_items(text: str) -> list[str]:
    """The ``key=value`` items of one variant line.

    Items are separated by spaces, commas or semicolons outside quotes and brackets, so a value may
    be a quoted string with spaces or a TOML array (``gates.open=["Torkham", "Chaman"]``); spaces
    around ``=`` are allowed.
    """
    items: list[str] = []
    current = ""
    depth = 0
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if quote:
            current += char
            if char == "\\" and quote == '"' and index < len(text):  # an escaped character
                current += text[index]
                index += 1
            elif char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif char in _ITEM_SEPARATORS and depth == 0:
            rest = text[index:].lstrip(_ITEM_SEPARATORS)
            if current.endswith("=") or rest.startswith("="):  # "key = value": one item
                continue
            if current:
                items.append(current)
            current = ""
            continue
        current += char
    if current:
        items.append(current)
    return items


def parse_variant(text: str, number: int, source: str) -> dict[str, Any]:
    """One variant line (``fence.coverage=0.5 patrols.units=400``) as dotted keys and values.

    Each item is read by the ``--set`` parser (:func:`~borderabm.scenario.parse_override`): the
    value is a TOML literal or a bare word. An empty line is the scenario file as written.

    Args:
        text: The line.
        number: The variant's number (1 is the reference), for the error lines.
        source: The scenario file, named by the error lines.

    Raises:
        ScenarioError: ``variant N: ...`` lines for an item that is not ``key=value`` or a key
            given twice.
    """
    overrides: dict[str, Any] = {}
    for item in variant_items(text):
        try:
            key, value = parse_override(item)
        except ScenarioError as error:
            raise ScenarioError(
                source, [f"variant {number}: {p}" for p in error.problems]
            ) from None
        if key in overrides:
            raise ScenarioError(source, [f"variant {number}: {key}: given twice (allowed: once)"])
        overrides[key] = value
    return overrides


def variant_label(scenario: str, point: Mapping[str, Any]) -> str:
    """How a variant is named in tables, charts and reports.

    ``baseline`` for the file as written, ``baseline: fence.coverage=0.5 patrols.units=400`` for a
    variant (values written as TOML literals).
    """
    if not point:
        return scenario
    levers = " ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in point.items()
    )
    return f"{scenario}: {levers}"


def variant_sweep(
    scenario_path: str | Path,
    variants: Sequence[Mapping[str, Any]],
    replicates: int,
    seed: int,
    days: int | None,
    *,
    text: str | None = None,
    draws: Draws | None = None,
) -> Sweep:
    """One scenario under 2-4 lever variants on the same seeds (``compare SCENARIO --variant ...``).

    Each variant is a mapping of dotted keys to values laid over the scenario as ``--set`` lays
    them (``{}``: the file as written); the first is the reference. The values are checked by the
    scenario schema and stored as it types them (``fence.coverage = 1`` is stored as ``1.0``): the
    sweep's design points are the typed variants, so the manifest records them, :func:`load_comparison`
    labels their runs with :func:`variant_label`, and a replay applies a point's overrides.

    With ``draws`` (``--uncertainty``), every variant runs in every world x seed, as the scenarios
    of a robust comparison do: design point ``v x worlds + w`` is variant ``v`` laid over draw
    ``w``, and the manifest's design (of kind ``draws``) lists the variants, so
    :func:`~borderabm.analysis.robust.load_robust` compares the variants across the worlds.

    Args:
        scenario_path: The scenario file (or, with ``text``, the name of an uploaded one).
        variants: The variants; the first is the reference.
        replicates: Seeds per variant.
        seed: The first seed (replicate k of every variant uses seed + k - 1).
        days: Overrides the scenario's horizon.
        text: The scenario file's text, when it is held in memory (an upload): nothing is read
            from the disk.
        draws: Plausible worlds (parameter draws) to run every variant in (None: the file's own).

    Raises:
        ScenarioError: Naming the scenario file: a file that cannot be loaded, fewer or more
            variants than allowed, ``variant N: key: ...`` lines for a key or value the schema
            refuses, two variants alike, a variant setting a drawn parameter, options out of
            range, or too many runs; naming the draws' file for a draw the schema refuses.
    """
    path = Path(scenario_path)
    source = str(scenario_path)
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise ScenarioError(source, [
            f"variants: {len(variants)} given (allowed: {MIN_VARIANTS} to {MAX_VARIANTS} "
            "variants; the first is the reference)"
        ])  # fmt: skip
    try:
        spec = SweepSpec(name="variants", scenarios=(source,), replicates=replicates, seed=seed,
                         days=days, series=draws is None)  # fmt: skip
    except ValidationError as error:
        raise ScenarioError(
            "borderabm compare", [_sweep_problem(e) for e in error.errors()]
        ) from None
    check_size(spec, source)
    if text is None:
        raw, document = read_toml_file(path, "scenario file")
    else:
        raw, document = text.encode("utf-8"), parse_toml(text, source)
    base = scenario_from_document(document, path)
    points: list[dict[str, Any]] = []
    for number, variant in enumerate(variants, start=1):
        point = _typed_variant(base, variant, number, source)
        if point in points:
            raise ScenarioError(source, [
                f"variant {number}: the same levers as variant {points.index(point) + 1} "
                "(allowed: different variants)"
            ])  # fmt: skip
        points.append(point)
    drawn = set(draws.parameters) if draws is not None else set()
    conflicts = sorted({key for point in points for key in point} & drawn)
    if draws is not None and conflicts:
        raise ScenarioError(source, [
            f"{key}: set by a variant and drawn across worlds by {draws.source} (allowed: a "
            "variant sets levers the draws leave alone)" for key in conflicts
        ])  # fmt: skip
    _check_runs(len(points) * (len(draws.points) if draws else 1) * replicates, draws)
    digest = hashlib.sha256(json.dumps(points, sort_keys=True).encode()).hexdigest()
    spec = spec.model_copy(update={"name": f"variants-{path.stem}-{digest[:8]}"})
    scenario_files = {base.name: (source, hashlib.sha256(raw).hexdigest())}
    worlds = len(draws.points) if draws is not None else 1
    design_points: list[dict[str, Any]] = []
    runs: list[RunSpec] = []
    for index, point in enumerate(points):
        policy_points, policy_runs = _policy_runs(base, source, point, index * worlds, draws,
                                                  replicates, seed, days)  # fmt: skip
        design_points += policy_points
        runs += policy_runs
    identity = [VARIANT_DESIGN, spec.model_dump(), sorted(scenario_files.items()), points]
    if draws is not None:  # lever variants alone keep the fingerprint their stores were made with
        identity.append(draws.points)
    notes = [
        f"variant {number}: {line}"
        for number, point in enumerate(points, start=1)
        for line in replaced_dated_settings(base, point)
    ]
    return _compare_sweep(spec, identity, scenario_files, design_points, runs, draws=draws,
                          variants=points, notes=notes)  # fmt: skip


def _check_drawn_keys_shared(bases: Sequence[Scenario], draws: Draws) -> None:
    """Refuse draws of a key in which the compared scenarios differ.

    The draw would overwrite the very lever the comparison is about: ``no_fence`` would run with
    a fence in every world. (A key some scenario lacks is left to the unknown-key check.)

    Raises:
        ScenarioError: Naming the draws' file, each such key and the scenarios' values.
    """
    documents = [(base.name, base.model_dump(mode="json")) for base in bases]
    problems = []
    for key in draws.parameters:
        values = {name: _value_at(document, key, None) for name, document in documents}
        distinct = {json.dumps(value, sort_keys=True) for value in values.values()}
        if None not in values.values() and len(distinct) > 1:
            shown = ", ".join(f"{name} {value}" for name, value in values.items())
            problems.append(f"{key}: drawn across worlds, but the scenarios compared differ in it "
                            f"({shown}; allowed: draws of parameters the policies share)")  # fmt: skip
    if problems:
        raise ScenarioError(draws.source, problems)


def _check_runs(runs_total: int, draws: Draws | None) -> None:
    """Refuse a comparison of more runs (policies x worlds x replicates) than one may have."""
    if runs_total > MAX_RUNS:
        raise ScenarioError("borderabm compare", [
            f"draws: {runs_total:,} runs (policies x draws x replicates) is too many for one "
            f"comparison (allowed: at most {MAX_RUNS:,})"
        ])  # fmt: skip


def _policy_runs(
    base: Scenario,
    source: str,
    levers: Mapping[str, Any],
    first_point: int,
    draws: Draws | None,
    replicates: int,
    seed: int,
    days: int | None,
) -> tuple[list[dict[str, Any]], list[RunSpec]]:
    """The runs of one policy (a scenario, or one lever variant of it) in every world x seed.

    Args:
        base: The scenario as its file gives it.
        source: The scenario file, named by error lines.
        levers: The policy's own overrides (a lever variant; empty for a scenario as written).
        first_point: The design point of the policy's first world (its worlds follow in order).
        draws: The worlds' parameter draws (None: one world, the scenario's own parameters).
        replicates: Seeds per world.
        seed: The first seed.
        days: Overrides the scenario's horizon.

    Returns:
        The policy's design points (a world's typed draw with the levers laid over it) and runs.

    Raises:
        ScenarioError: Naming the draws' file for a draw the scenario schema refuses or a key
            that is not a scenario field; naming the scenario for options out of range.
    """
    points: list[dict[str, Any]] = []
    runs: list[RunSpec] = []
    for world, values in enumerate(draws.points if draws is not None else [{}]):
        typed, unknown = typed_overrides(base, values)
        if unknown:
            raise ScenarioError(draws.source if draws else source, [
                f"{key}: not a key of scenario {base.name} (allowed: dotted keys of scenario "
                "fields, e.g. population.militants)" for key in unknown
            ])  # fmt: skip
        point = {**typed, **levers}
        points.append(point)
        for replicate in range(replicates):
            overrides: dict[str, Any] = {**point, "seed": seed + replicate}
            if days is not None:
                overrides["horizon_days"] = days
            try:
                settings = with_levers(base, overrides, source)
            except ScenarioError as error:
                if draws is None:
                    raise
                raise ScenarioError(draws.source, [
                    f"draw {world + 1} on {base.name}: {p}" for p in error.problems
                ]) from None  # fmt: skip
            runs.append(RunSpec.of_scenario(settings, first_point + world, replicate, point))
    return points, runs


def _compare_sweep(spec: SweepSpec, identity: list[Any], scenario_files: dict[str, tuple[str, str]],
                   points: list[dict[str, Any]], runs: list[RunSpec], *,
                   draws: Draws | None = None,
                   variants: list[dict[str, Any]] | None = None,
                   notes: Sequence[str] = ()) -> Sweep:  # fmt: skip
    """A comparison's sweep, fingerprinted by ``identity`` (what decides whether a store resumes)."""
    fingerprint = json.dumps(identity, sort_keys=True)
    return Sweep(
        spec=spec,
        source=Path("<compare>"),
        source_sha256=hashlib.sha256(fingerprint.encode()).hexdigest(),
        scenario_files=scenario_files,
        points=points,
        runs=runs,
        draws=draws,
        variants=variants,
        notes=tuple(notes),
    )


def _typed_variant(
    base: Scenario, variant: Mapping[str, Any], number: int, source: str
) -> dict[str, Any]:
    """A variant checked by the scenario schema, each value as the validated scenario holds it.

    Raises:
        ScenarioError: ``variant N: ...`` lines naming the keys the schema refuses.
    """
    fixed = [f"variant {number}: {key}: {why}" for key, why in FIXED_KEYS.items() if key in variant]
    if fixed:
        raise ScenarioError(source, fixed)
    try:
        settings = with_levers(base, dict(variant), source)
    except ScenarioError as error:
        raise ScenarioError(source, [f"variant {number}: {p}" for p in error.problems]) from None
    document = settings.model_dump(mode="json")
    return {str(key): _value_at(document, str(key), value) for key, value in variant.items()}


def _value_at(document: Any, key: str, default: Any) -> Any:
    """The value at a dotted key of a scenario document (a numeric part indexes a list)."""
    node = document
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def _variant_design(sweep: Sweep) -> DesignRecord:
    """The manifest's design of lever variants: every variant a point, its keys' levels."""
    keys = dict.fromkeys(key for point in sweep.points for key in point)
    return DesignRecord(
        kind=VARIANT_DESIGN,
        samples=len(sweep.points),
        parameters={key: {"levels": [p[key] for p in sweep.points if key in p]} for key in keys},
        points=sweep.points,
    )


def _design_record(sweep: Sweep) -> DesignRecord:
    """The manifest's design: lever variants, a sweep file's design, or parameter draws."""
    spec, draws = sweep.spec, sweep.draws
    if draws is None and sweep.variants:
        return _variant_design(sweep)
    if draws is None:
        return DesignRecord(
            kind=spec.design.kind,
            samples=spec.design.samples,
            parameters={k: v.model_dump() for k, v in spec.parameters.items()},
            points=sweep.points,
        )
    extra = {"variants": sweep.variants} if sweep.variants else {}
    return DesignRecord(
        kind="draws",
        samples=len(sweep.points),
        parameters=draws.ranges(),
        points=sweep.points,
        uncertainty={"file": draws.source, "kind": draws.kind},
        **extra,
    )


def manifest_for(sweep: Sweep) -> Manifest:
    """What the results directory records about the sweep (the fingerprint decides resumption)."""
    spec = sweep.spec
    return Manifest(
        fingerprint=sweep.source_sha256
        + "|"
        + "|".join(f"{n}:{h}" for n, (_, h) in sorted(sweep.scenario_files.items())),
        sweep=SweepRecord(name=spec.name, file=str(sweep.source), sha256=sweep.source_sha256),
        scenarios={
            n: ScenarioRecord(file=f, sha256=h) for n, (f, h) in sweep.scenario_files.items()
        },
        design=_design_record(sweep),
        replicates=spec.replicates,
        seeds=[spec.seed + k for k in range(spec.replicates)],
        days=spec.days,
        runs=len(sweep.runs),
        environment=environment(),
        started=now(),
        finished=None,
    )


def run_sweep(
    sweep: Sweep,
    store: ResultsStore,
    *,
    workers: int | None = None,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
    engine: Engine | None = None,
) -> int:
    """Execute the runs not yet in the store; return how many were executed.

    Args:
        sweep: The loaded sweep.
        store: Its results store (created, or resumed if it holds this same sweep).
        workers: Local worker processes (see :func:`~borderabm.experiments.engines.engine_for`).
        dask: A Dask scheduler address, or ``"local"``.
        on_done: Called after every executed run.
        engine: Where the runs execute; made from ``workers`` and ``dask`` if None.

    Raises:
        StoreError: If the store holds another sweep or is corrupt, or a file cannot be written
            (full disk, no permission): the runs finished before stay stored, and the same call
            resumes from them.
        SchedulerUnreachable: An ``OSError``, only for a Dask scheduler that cannot be reached (no
            file involved).
    """
    manifest = manifest_for(sweep)
    try:
        store.open_for(manifest)
        done = store.done()
        pending = [run for run in sweep.runs if run.run_id not in done]
        if pending:
            run_into_store(engine or engine_for(workers, dask), pending, store,
                           keep_series=sweep.spec.series, on_done=on_done)  # fmt: skip
        stored = store.read_manifest() or manifest
        store.write_manifest(stored.updated(finished=now(), executed_last=len(pending)))
    except SchedulerUnreachable:
        raise  # the scheduler, not a file: callers say so
    except OSError as error:
        raise write_failure(error, store.root) from None
    return len(pending)


def _sweep_problem(error: Mapping[str, Any]) -> str:
    """One line for one validation error of a sweep file: key path, problem, what is allowed."""
    return spec_problem(error, SweepSpec, {"design": DesignSpec}, {"parameters": ParameterSpec})


def spec_problem(
    error: Mapping[str, Any],
    top: type[BaseModel],
    sections: Mapping[str, type[BaseModel]],
    entries: Mapping[str, type[BaseModel]],
) -> str:
    """One line for one pydantic error of a spec file (sweep, calibration): key, problem, allowed.

    Args:
        error: One item of ``ValidationError.errors()``.
        top: The model of the whole file.
        sections: The models of its ``[section]`` tables (e.g. ``design``).
        entries: The models of the entries of its tables of named entries (e.g. one parameter).
    """
    loc = tuple(error.get("loc", ()))
    path = format_path(loc)
    if len(loc) > 1 and loc[0] in entries and "." in str(loc[1]):  # quote dotted keys, as in TOML
        rest = format_path(loc[2:]) if len(loc) > 2 else ""
        path = f'{loc[0]}."{loc[1]}"' + (f".{rest}" if rest else "")
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        parent = {1: top, 2: sections.get(str(loc[0])), 3: entries.get(str(loc[0]))}.get(len(loc))
        fields = list(parent.model_fields) if parent else []
        return unknown_key(path, str(loc[-1]), fields)
    if kind == "missing":
        return f"{path}: required key is missing"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
    bounds = bounds_from_context(error.get("ctx") or {})
    return f"{path}: {message}{shown}" + (f" (allowed: {bounds})" if bounds else "")
