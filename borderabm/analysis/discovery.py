"""Scenario discovery on a sweep's results with PRIM, the Patient Rule Induction Method.

Which ranges of the varied parameters lead to an outcome of interest ("the trade corridor does not
raise attacks")? PRIM (Friedman & Fisher 1999, "Bump hunting in high-dimensional data", Statistics
and Computing 9:123-143) answers with a *box*: a lower and upper limit on some of the parameters.
Scenario discovery (Bryant & Lempert 2010, Technological Forecasting and Social Change 77:34-49)
judges a box by three numbers:

* **coverage** — the share of all cases of interest that fall in the box;
* **density** — the share of the cases in the box that are of interest;
* **mass** — the share of all cases that fall in the box.

PRIM itself is the EMA Workbench's, with the box choice, pasting of the chosen box, opening of
limits the data do not support (quasi-p), covering and whole-number limits that scenario discovery
needs on top: see :mod:`borderabm.analysis.prim`. This module turns a sweep's results
store into cases and runs PRIM on them; :mod:`borderabm.report.discovery` reports the boxes.

Cases: by default one case per **design point**, with the outcome averaged over the point's
replicates (common seeds): the box then describes where the *expected* outcome is of interest and
its mass is a share of the design space (an LHS sample spreads points evenly over it). Replicate
noise would otherwise blur the boxes: a run is "of interest" partly by luck, and PRIM cannot tell
runs at one point apart by their parameters. ``cases="run"`` uses one case per run instead. With a
reference scenario the outcome is the **paired difference** scenario − reference of each run on
the same design point and replicate (so the same seed and, by the per-kind random streams, the same
luck), averaged per point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from borderabm.analysis.prim import PrimResult, PrimUnavailableError, prim, setting_problems
from borderabm.experiments.store import MANIFEST, RUN_COLUMNS, RUNS, ResultsStore, StoreError
from borderabm.metrics import metric_label

CASE_UNITS: tuple[str, ...] = ("point", "run")


class DiscoveryError(ValueError):
    """Input that scenario discovery cannot use (reported as ``error:`` lines by the CLI).

    Args:
        message: What is wrong, and what is allowed.
        source: The file or directory at fault, if not the sweep directory.
    """

    def __init__(self, message: str, source: str | None = None):
        super().__init__(message)
        self.source = source


# Reading a sweep store --------------------------------------------------------------------------
@dataclass
class Cases:
    """The data PRIM sees: parameters and outcome per case, and what they mean.

    Attributes:
        x: Varied numeric parameters, one row per case.
        outcome: The metric (or paired difference) per case.
        label: What the outcome is, by the metric's label with its unit, e.g.
            ``Formal trade (US$), trade_corridor − baseline``.
        unit: ``"point"`` (design point, mean over replicates) or ``"run"``.
        scenario: The scenario whose runs are used.
        reference: The reference scenario of a paired difference, or None.
        replicates: Replicates per case (min and max over cases; 1 per run).
        ranges: The design's range of each parameter.
        sweep: The sweep's name.
        notes: What was left out and why.
        integers: The parameters the design declares ``integer = true`` (and whose values are
            all whole numbers): their limits are reported as whole numbers.
    """

    x: pd.DataFrame
    outcome: pd.Series
    label: str
    unit: str
    scenario: str
    reference: str | None
    replicates: tuple[int, int]
    ranges: dict[str, tuple[float, float]]
    sweep: str
    notes: list[str] = field(default_factory=list)
    integers: tuple[str, ...] = ()


def load_cases(
    store: ResultsStore,
    metric: str,
    scenario: str | None = None,
    relative_to: str | None = None,
    unit: str = "point",
) -> Cases:
    """Read the cases of one scenario (or a paired difference) from a sweep's results store.

    Args:
        store: A results directory written by ``borderabm sweep``.
        metric: A summary metric of the runs.
        scenario: The scenario whose runs to use; may be omitted when the store holds one scenario,
            or two with ``relative_to`` naming the other.
        relative_to: A reference scenario: the outcome is scenario − reference per run on the same
            design point and replicate.
        unit: ``"point"`` (one case per design point, mean over replicates) or ``"run"``.

    Raises:
        DiscoveryError: For a directory that is not a sweep store, no finished runs, an unknown
            scenario, reference or metric, no paired runs, or no varied numeric parameters.
    """
    if unit not in CASE_UNITS:
        raise DiscoveryError(f"unknown case unit {unit!r} (allowed: {', '.join(CASE_UNITS)})")
    manifest = _read_manifest(store)
    design = manifest.get("design") or {}
    names = list(design.get("parameters") or {})
    points = design.get("points") or []
    if not names or not points:
        raise DiscoveryError("the sweep varies no parameters, so there are no ranges to discover "
                             "(a comparison of scenarios only); sweep some parameters first")  # fmt: skip
    runs = _read_runs(store)
    if runs.empty:
        raise DiscoveryError("no finished runs yet; run the sweep first")
    scenario = _choose_scenario(manifest, runs, scenario, relative_to)
    _check_metric(runs, names, metric)
    notes: list[str] = []
    values, label = _run_outcomes(runs, metric, scenario, relative_to, notes)
    parameters, ranges = _parameter_frame(points, names, design.get("parameters") or {}, notes)
    x, outcome, replicates = _cases_of(values, parameters, unit)
    varied = _varied_parameters(x, notes)
    integers = _whole_number_parameters(x[varied], design.get("parameters") or {})
    sweep = (manifest.get("sweep") or {}).get("name", store.root.name)
    return Cases(x=x[varied], outcome=outcome, label=label, unit=unit, scenario=scenario,
                 reference=relative_to, replicates=replicates,
                 ranges={n: ranges[n] for n in varied}, sweep=sweep, notes=notes,
                 integers=integers)  # fmt: skip


def _whole_number_parameters(x: pd.DataFrame, specs: dict[str, Any]) -> tuple[str, ...]:
    """The parameters the design declares ``integer = true`` whose values are all whole numbers.

    The second condition keeps the rounding of :func:`reported_limits` exact even for a store
    whose points were not rounded.
    """
    declared = [n for n in x.columns if isinstance(specs.get(n), dict) and specs[n].get("integer")]
    return tuple(n for n in declared if (x[n] == np.round(x[n])).all())


def _choose_scenario(
    manifest: dict[str, Any], runs: pd.DataFrame, scenario: str | None, relative_to: str | None
) -> str:
    """The scenario whose runs to use: as asked, or the only one besides the reference.

    Raises:
        DiscoveryError: For an unknown scenario or reference, a reference equal to the scenario, or
            no scenario named when the store holds several.
    """
    listed = list(manifest.get("scenarios") or {})
    with_runs = set(runs["scenario"])
    # The sweep file's order first, then any scenario only the runs know; only those with runs.
    available = [s for s in listed + sorted(with_runs - set(listed)) if s in with_runs]
    allowed = ", ".join(available)
    if relative_to is not None and relative_to not in available:
        raise DiscoveryError(
            f"--relative-to: unknown scenario {relative_to!r} (allowed: {allowed})"
        )
    if scenario is None:
        candidates = [s for s in available if s != relative_to]
        if not candidates:  # the reference is the store's only scenario
            raise _nothing_to_compare(str(relative_to))
        if len(candidates) > 1:
            raise DiscoveryError(f"the store holds {len(candidates)} scenarios"
                                 + (f" besides --relative-to {relative_to!r}" if relative_to else "")
                                 + f"; choose one with --scenario (allowed: "
                                 f"{', '.join(candidates)})")  # fmt: skip
        scenario = candidates[0]
    elif scenario not in available:
        raise DiscoveryError(f"--scenario: unknown scenario {scenario!r} (allowed: {allowed})")
    if relative_to == scenario:
        others = [s for s in available if s != scenario]
        if not others:
            raise _nothing_to_compare(scenario)
        raise DiscoveryError(f"--relative-to: must name another scenario than {scenario!r} "
                             f"(allowed: {', '.join(others)})")  # fmt: skip
    return scenario


def _nothing_to_compare(only: str) -> DiscoveryError:
    """The error for ``--relative-to`` naming the one scenario the store holds."""
    return DiscoveryError(f"--relative-to: {only!r} is the only scenario in the store, so there is "
                          "no other to compare with it (allowed: leave out --relative-to, or a "
                          "store that holds another scenario too)")  # fmt: skip


def _check_metric(runs: pd.DataFrame, names: list[str], metric: str) -> None:
    """Raise a DiscoveryError unless ``metric`` is a numeric summary metric of the runs."""
    metrics = [c for c in runs.columns if c not in RUN_COLUMNS and c not in names
               and pd.api.types.is_numeric_dtype(runs[c])
               and not pd.api.types.is_bool_dtype(runs[c])]  # fmt: skip
    if metric not in metrics:
        raise DiscoveryError(f"--metric: unknown metric {metric!r} (allowed: {', '.join(metrics)})")


def _run_outcomes(
    runs: pd.DataFrame, metric: str, scenario: str, relative_to: str | None, notes: list[str]
) -> tuple[pd.DataFrame, str]:
    """The outcome of each run (or pair of runs), and what it is in words.

    Returns:
        Rows with ``point``, ``replicate`` and ``value`` (runs without a value left out, with a
        note), and the outcome's label.

    Raises:
        DiscoveryError: If no run has a value, or paired runs do not share their seeds or do not
            exist.
    """
    own = runs.loc[runs["scenario"] == scenario, ["point", "replicate", "seed", metric]]
    if relative_to is None:
        values = own.rename(columns={metric: "value"})
        label = f"{metric_label(metric)}, {scenario}"  # the label names the threshold's unit
    else:
        values = _paired_differences(runs, own, metric, scenario, relative_to, notes)
        label = f"{metric_label(metric)}, {scenario} − {relative_to}"
    missing = values["value"].isna()
    if missing.any():
        notes.append(f"{int(missing.sum())} runs with no value of {metric} (NaN) left out")
        values = values[~missing]
    if values.empty:
        raise DiscoveryError(f"no run of {scenario!r} has a value of {metric}")
    return values, label


def _paired_differences(
    runs: pd.DataFrame,
    own: pd.DataFrame,
    metric: str,
    scenario: str,
    relative_to: str,
    notes: list[str],
) -> pd.DataFrame:
    """Scenario − reference per design point and replicate (same seed), as column ``value``."""
    other = runs.loc[runs["scenario"] == relative_to, ["point", "replicate", "seed", metric]]
    paired = own.merge(other, on=["point", "replicate"], suffixes=("", "_ref"))
    if (paired["seed"] != paired["seed_ref"]).any():
        raise DiscoveryError(f"runs of {scenario!r} and {relative_to!r} at the same design point "
                             "and replicate have different seeds; they cannot be paired")  # fmt: skip
    unpaired = len(own) + len(other) - 2 * len(paired)
    if unpaired:
        notes.append(f"{unpaired} runs without a partner in the other scenario left out "
                     "(an unfinished sweep?)")  # fmt: skip
    if paired.empty:
        raise DiscoveryError(f"no runs of {scenario!r} and {relative_to!r} share a design point "
                             "and replicate")  # fmt: skip
    return paired.assign(value=paired[metric] - paired[f"{metric}_ref"])


def _cases_of(
    values: pd.DataFrame, parameters: pd.DataFrame, unit: str
) -> tuple[pd.DataFrame, pd.Series, tuple[int, int]]:
    """One case per design point (mean over its replicates) or per run.

    Returns:
        The parameters and outcome per case, and the fewest and most replicates per case.

    Raises:
        DiscoveryError: If runs refer to design points the manifest does not list.
    """
    if not values["point"].isin(parameters.index).all():
        raise DiscoveryError("runs refer to design points the manifest does not list; "
                             "was the store written by this version of borderabm?")  # fmt: skip
    if unit == "point":
        grouped = values.groupby("point")["value"]
        outcome = grouped.mean()
        counts = grouped.size()
        replicates = (int(counts.min()), int(counts.max()))
        x = parameters.loc[outcome.index]
    else:
        outcome = values["value"]
        x = parameters.loc[values["point"].to_numpy()]
        replicates = (1, 1)
    return x.reset_index(drop=True), outcome.reset_index(drop=True).astype(float), replicates


def _varied_parameters(x: pd.DataFrame, notes: list[str]) -> list[str]:
    """The parameters that vary over the cases (PRIM cannot cut a constant).

    Raises:
        DiscoveryError: If none does.
    """
    varied = [c for c in x.columns if x[c].nunique() > 1]
    fixed = [c for c in x.columns if c not in varied]
    if fixed:
        notes.append(f"parameters constant over these cases left out: {', '.join(fixed)}")
    if not varied:
        raise DiscoveryError("no varied numeric parameters among the cases; nothing to discover")
    return varied


def _read_manifest(store: ResultsStore) -> dict[str, Any]:
    """The store's manifest, checked to be shaped like one that ``borderabm sweep`` writes.

    Raises:
        DiscoveryError: Naming the manifest file, if it is missing, unreadable, not JSON, or not a
            JSON object with an object ``design`` of object ``parameters`` and a list of ``points``.
    """
    path = store.root / MANIFEST
    try:
        manifest = store.manifest()
    except StoreError as error:  # unreadable, not JSON or not an object: the message names it
        raise DiscoveryError(str(error).removeprefix(f"{path}: "), str(path)) from None
    except (OSError, ValueError) as error:
        raise DiscoveryError(f"cannot read: {error}", str(path)) from None
    if manifest is None:
        raise DiscoveryError("not a results directory written by `borderabm sweep` "
                             "(no manifest.json)")  # fmt: skip
    _expect_json(manifest, dict, "not a sweep manifest", path)
    design = manifest.get("design") or {}
    _expect_json(design, dict, "design", path)
    _expect_json(design.get("parameters") or {}, dict, "design.parameters", path)
    _expect_json(design.get("points") or [], list, "design.points", path)
    if not all(isinstance(point, dict) for point in design.get("points") or []):
        raise DiscoveryError("design.points: every point must be a JSON object", str(path))
    return manifest


def _expect_json(value: Any, kind: type, key: str, path: Path) -> None:
    """Raise a DiscoveryError naming ``path`` unless ``value`` is of the JSON type ``kind``."""
    if not isinstance(value, kind):
        wanted = "a JSON object" if kind is dict else "a JSON array"
        raise DiscoveryError(f"{key}: {wanted} was expected, got {_json_kind(value)}", str(path))


def _json_kind(value: Any) -> str:
    """The JSON type of a parsed value, in words (for error messages)."""
    kinds = ((dict, "an object"), (list, "an array"), (str, "a string"), (bool, "a boolean"),
             (int | float, "a number"))  # fmt: skip
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def _read_runs(store: ResultsStore) -> pd.DataFrame:
    """The store's run rows.

    Raises:
        DiscoveryError: Naming the first run file that cannot be read (a corrupt or foreign
            Parquet file), or the runs folder if the rows cannot be put together.
    """
    folder = store.root / RUNS
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    try:
        return store.runs()
    except StoreError as error:  # a damaged or mistyped row: the message names its file
        text = str(error)
        named = next((p for p in [*files, folder] if text.startswith(f"{p}: ")), None)
        if named is None:
            raise DiscoveryError(text, str(folder)) from None
        problem = text.removeprefix(f"{named}: ")
        raise DiscoveryError(f"cannot read this run row: {problem}", str(named)) from None
    except (OSError, ValueError, KeyError, pa.ArrowException) as error:
        failure: BaseException = error
    # Only on failure: read the files one by one to name the culprit.
    for path in files:
        try:
            pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as error:
            raise DiscoveryError(f"cannot read this run row: {error}", str(path)) from None
    raise DiscoveryError(f"cannot read the run rows: {failure!r}", str(folder)) from None


def _parameter_frame(
    points: list[dict[str, Any]], names: list[str], specs: dict[str, Any], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    """The design points as numbers (booleans as 0/1), indexed by point, and each one's range."""
    frame = pd.DataFrame(points, columns=names)
    numeric: dict[str, pd.Series] = {}
    skipped = []
    for name in names:
        column = frame[name]
        if all(isinstance(v, bool | int | float) and not isinstance(v, str) for v in column):
            numeric[name] = column.astype(float)
        else:
            skipped.append(name)
    if skipped:
        notes.append(f"non-numeric parameters left out (PRIM here handles numbers only): "
                     f"{', '.join(skipped)}")  # fmt: skip
    if not numeric:
        raise DiscoveryError("no varied numeric parameters in the sweep; nothing to discover")
    parameters = pd.DataFrame(numeric)
    ranges = {}
    for name, column in parameters.items():
        spec = specs.get(name) or {}
        if spec.get("low") is not None and spec.get("high") is not None:
            ranges[str(name)] = (float(spec["low"]), float(spec["high"]))
        else:
            ranges[str(name)] = (float(column.min()), float(column.max()))
    return parameters, ranges


# Discovery -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Discovery:
    """What scenario discovery found: the cases, the question asked of them and PRIM's boxes."""

    cases: Cases
    threshold: float
    below: bool
    result: PrimResult

    @property
    def condition(self) -> str:
        """The outcome of interest, in words."""
        sign = "<=" if self.below else ">"
        return f"{self.cases.label} {sign} {self.threshold:g}"

    def left_over(self) -> tuple[int, int]:
        """The cases in none of the boxes, and how many of them are of interest."""
        taken = np.zeros(len(self.result.y), dtype=bool)
        for box in self.result.boxes:
            taken |= box.step.inside
        return int((~taken).sum()), int(self.result.y[~taken].sum())


def interest(outcome: pd.Series, threshold: float, below: bool) -> np.ndarray:
    """Cases of interest: outcome > threshold, or with ``below`` outcome <= threshold.

    ``below`` is the exact complement of the default, so that ``--threshold 0 --below`` on a paired
    difference means "does not raise", no change included: with common random numbers many design
    points can give exactly the same count in both scenarios.
    """
    values = outcome.to_numpy(dtype=float)
    return values <= threshold if below else values > threshold


# The command-line option of each PRIM setting (the rest are the setting's name with dashes).
OPTION_NAMES = {"max_boxes": "--boxes"}


def option_name(setting: str) -> str:
    """The ``borderabm discover`` option that sets a PRIM setting: ``peel_alpha`` -> ``--peel-alpha``."""
    return OPTION_NAMES.get(setting, "--" + setting.replace("_", "-"))


def discover(
    store: ResultsStore,
    metric: str,
    threshold: float,
    *,
    below: bool = False,
    scenario: str | None = None,
    relative_to: str | None = None,
    unit: str = "point",
    **prim_settings: Any,
) -> Discovery:
    """Read a sweep store, mark the cases of interest and run PRIM on them.

    Args:
        store: A results directory written by ``borderabm sweep``.
        metric: The summary metric.
        threshold: Cases of interest have the outcome above it (at or below it with ``below``).
        below: Look for outcome <= threshold instead of > threshold.
        scenario: See :func:`load_cases`.
        relative_to: See :func:`load_cases`.
        unit: See :func:`load_cases`.
        **prim_settings: Passed to :func:`prim`.

    Raises:
        DiscoveryError: For unusable input (see :func:`load_cases`), a threshold that leaves no
            case, or every case, of interest, bad PRIM settings, or no EMA Workbench to run PRIM.
    """
    if not math.isfinite(threshold):  # nan compares false with every outcome; inf is beyond all
        raise DiscoveryError(f"--threshold: {threshold} is not a finite number "
                             "(allowed: a finite number in the metric's unit)")  # fmt: skip
    problems = setting_problems(**prim_settings)  # before the store is read
    if problems:
        raise DiscoveryError("; ".join(f"{option_name(name)}: {what}" for name, what in problems))
    cases = load_cases(store, metric, scenario, relative_to, unit)
    y = interest(cases.outcome, threshold, below)
    sign = "<=" if below else ">"
    if y.all() or not y.any():
        values = cases.outcome
        which = "every case" if y.all() else "no case"
        raise DiscoveryError(
            f"--threshold {threshold:g}: {which} of {len(y)} has {cases.label} {sign} {threshold:g}, "
            f"so there is nothing to tell apart (over the cases it runs from {values.min():.4g} "
            f"to {values.max():.4g}, median {values.median():.4g})"
        )
    try:
        result = prim(cases.x, y, **prim_settings)
    except (ValueError, PrimUnavailableError) as error:
        raise DiscoveryError(str(error)) from None
    return Discovery(cases=cases, threshold=threshold, below=below, result=result)
