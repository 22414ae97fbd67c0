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
store into cases, runs PRIM on them and reports the boxes.

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from borderabm.analysis.prim import (
    Box,
    PrimResult,
    PrimUnavailableError,
    boxes_table,
    prim,
    reported_limits,
    trajectory_table,
)

# The run rows' bookkeeping columns (neither parameters nor metrics): one definition for both
# readers of a sweep store.
from borderabm.analysis.sensitivity import FIXED_COLUMNS
from borderabm.experiments.store import MANIFEST, RUNS, ResultsStore, StoreError, atomic_write

if TYPE_CHECKING:
    from rich.console import Console

CASE_UNITS: tuple[str, ...] = ("point", "run")
BOXES_CSV = "boxes.csv"
TRAJECTORY_CSV = "trajectory.csv"
REPORT_MD = "discovery.md"
LIMIT_COLUMNS = ("parameter", "box low", "quasi-p low", "box high", "quasi-p high", "design range")
TRAJECTORY_PNG = "trajectory.png"


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
        label: What the outcome is, e.g. ``attacks (trade_corridor − baseline)``.
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
        if len(candidates) != 1:
            raise DiscoveryError(f"the store holds several scenarios; choose one with --scenario "
                                 f"(allowed: {allowed})")  # fmt: skip
        scenario = candidates[0]
    elif scenario not in available:
        raise DiscoveryError(f"--scenario: unknown scenario {scenario!r} (allowed: {allowed})")
    if relative_to == scenario:
        raise DiscoveryError(f"--relative-to must name another scenario than {scenario!r} "
                             f"(allowed: {', '.join(s for s in available if s != scenario)})")  # fmt: skip
    return scenario


def _check_metric(runs: pd.DataFrame, names: list[str], metric: str) -> None:
    """Raise a DiscoveryError unless ``metric`` is a numeric summary metric of the runs."""
    metrics = [c for c in runs.columns if c not in FIXED_COLUMNS and c not in names
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
        label = f"{metric} ({scenario})"
    else:
        values = _paired_differences(runs, own, metric, scenario, relative_to, notes)
        label = f"{metric} ({scenario} − {relative_to})"
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


# The command -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Discovery:
    """Everything ``borderabm discover`` found and reports."""

    cases: Cases
    threshold: float
    below: bool
    result: PrimResult

    @property
    def condition(self) -> str:
        """The outcome of interest, in words."""
        sign = "<=" if self.below else ">"
        return f"{self.cases.label} {sign} {self.threshold:g}"


def interest(outcome: pd.Series, threshold: float, below: bool) -> np.ndarray:
    """Cases of interest: outcome > threshold, or with ``below`` outcome <= threshold.

    ``below`` is the exact complement of the default, so that ``--threshold 0 --below`` on a paired
    difference means "does not raise", no change included: with common random numbers many design
    points can give exactly the same count in both scenarios.
    """
    values = outcome.to_numpy(dtype=float)
    return values <= threshold if below else values > threshold


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


def print_discovery(discovery: Discovery, console: Console) -> None:
    """Print the question, the base rate and every box with its limits and numbers."""
    from rich.table import Table
    from rich.text import Text

    cases, result = discovery.cases, discovery.result
    unit = "design points" if cases.unit == "point" else "runs"
    k, n = int(result.y.sum()), len(result.y)
    # Room for the dotted keys and five numbers even when the output goes to a pipe or log; the
    # caller's console class, so user text is shown as its console shows it (plain).
    wide = type(console)(file=console.file, width=max(console.width, 120), highlight=False,
                   color_system=console.color_system, force_terminal=console.is_terminal)  # fmt: skip
    console.print(Text(f"{cases.sweep}: cases of interest: {discovery.condition}"),
                  soft_wrap=True)  # fmt: skip
    replicates = _replicates_text(cases)
    console.print(f"{n} {unit}{replicates}; {k} of interest: base rate {result.base_rate:.3f}")
    for note in cases.notes:
        console.print(f"note: {note}")
    for box in result.boxes:
        step = box.step
        console.print(
            f"\nbox {box.number}: coverage {step.coverage:.3f}, density {step.density:.3f}, "
            f"mass {step.mass:.3f}, {step.cases} cases ({step.of_interest} of interest); "
            f"{_base_rate_text(box, result)}; chosen: {box.selection}",
            soft_wrap=True,
        )
        if not step.restricted:
            console.print("  no restriction helps: the whole design space (density = base rate)")
            continue
        table = Table(show_edge=False, pad_edge=False)
        for column in LIMIT_COLUMNS:
            if column == "parameter":  # dotted keys must stay whole to be usable
                table.add_column(column, no_wrap=True, min_width=max(map(len, step.restricted)))
            else:
                table.add_column(column, justify="right")
        for name in step.restricted:
            table.add_row(*_limit_cells(name, box, result, cases))
        wide.print(table)
    if len(result.boxes) < result.settings["max_boxes"]:
        console.print("\n" + _no_more_boxes(result), soft_wrap=True)


def _no_more_boxes(result: PrimResult) -> str:
    wanted = result.settings["max_boxes"]
    return f"No box {len(result.boxes) + 1} (of {wanted} asked): {_why_no_more_boxes(result)}."


def _why_no_more_boxes(result: PrimResult) -> str:
    taken = np.zeros(len(result.y), dtype=bool)
    for box in result.boxes:
        taken |= box.step.inside
    left, of_interest = int((~taken).sum()), int(result.y[~taken].sum())
    if not of_interest:
        return "the boxes hold every case of interest"
    significant = " with significant limits" if result.settings["max_quasi_p"] is not None else ""
    return (f"among the {left} cases left ({of_interest} of interest) no box{significant} is "
            "denser than the rest")  # fmt: skip


def _replicates_text(cases: Cases) -> str:
    if cases.unit != "point":
        return ""
    low, high = cases.replicates
    count = f"{low}" if low == high else f"{low}-{high}"
    return f" (mean of {count} replicate{'s' if high > 1 else ''} each)"


def _base_rate_text(box: Box, result: PrimResult) -> str:
    if box.number == 1:
        return f"base rate {result.base_rate:.3f}"
    rate = box.remaining_of_interest / box.remaining_cases
    return f"base rate of the {box.remaining_cases} cases left {rate:.3f}"


def _limit_cells(name: str, box: Box, result: PrimResult, cases: Cases) -> list[str]:
    """Parameter, limits (a dash where open), their quasi-p values and the design range."""
    j = result.names.index(name)
    step = box.step
    low, high = cases.ranges[name]
    p_low, p_high = box.quasi_p[name]
    open_low, open_high = (
        step.lower[j] == result.data_lower[j],
        step.upper[j] == result.data_upper[j],
    )
    lower, upper = reported_limits(step, result.names, cases.integers)
    number = "{:.0f}" if name in cases.integers else "{:.4g}"  # 1250 units, not 1.25e+03
    return [
        name,
        "—" if open_low else number.format(lower[j]),
        "—" if open_low else _p_value(p_low),
        "—" if open_high else number.format(upper[j]),
        "—" if open_high else _p_value(p_high),
        f"{low:.4g} – {high:.4g}",
    ]


def _p_value(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def write_outputs(discovery: Discovery, out: Path) -> list[Path]:
    """Write ``boxes.csv``, ``trajectory.csv``, ``discovery.md`` and ``trajectory.png`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    boxes = boxes_table(discovery.result, discovery.cases.ranges, discovery.cases.integers)
    trajectory = trajectory_table(discovery.result)
    written = []
    for name, table in ((BOXES_CSV, boxes), (TRAJECTORY_CSV, trajectory)):
        atomic_write(out / name, lambda p, t=table: t.to_csv(p, index=False))
        written.append(out / name)
    atomic_write(out / TRAJECTORY_PNG, lambda p: trajectory_chart(discovery, p))
    written.append(out / TRAJECTORY_PNG)
    text = markdown_report(discovery)
    atomic_write(out / REPORT_MD, lambda p: p.write_text(text))
    written.append(out / REPORT_MD)
    return written


def trajectory_chart(discovery: Discovery, out: Path) -> None:
    """Coverage against density along each box's trajectory, the chosen box marked with a star.

    Points are coloured by the number of restricted parameters; pasting steps are squares, opened
    limits diamonds.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    result = discovery.result
    panels = len(result.boxes)
    figure = Figure(figsize=(5.6 * panels + 0.8, 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    most = max(len(s.restricted) for b in result.boxes for s in b.trajectory)
    scatter = None
    for ax, box in zip(axes, result.boxes, strict=True):
        coverage = np.array([s.coverage for s in box.trajectory])
        density = np.array([s.density for s in box.trajectory])
        restricted = np.array([len(s.restricted) for s in box.trajectory])
        phases = np.array([s.phase for s in box.trajectory])
        peeled = np.isin(phases, ("start", "peel"))
        ax.plot(coverage[peeled], density[peeled], color="#999999", linewidth=0.8, zorder=1)
        scatter = ax.scatter(coverage[peeled], density[peeled], c=restricted[peeled],
                             cmap="viridis", vmin=0, vmax=max(most, 1), s=28, zorder=2,
                             label="peeling")  # fmt: skip
        for phase, marker, label in (("paste", "s", "pasting"), ("open", "D", "opening limits")):
            shown = phases == phase
            if shown.any():
                ax.scatter(coverage[shown], density[shown], c=restricted[shown], cmap="viridis",
                           vmin=0, vmax=max(most, 1), marker=marker, s=34, zorder=2,
                           edgecolor="#333333", linewidth=0.5, label=label)  # fmt: skip
        step = box.step
        ax.scatter([step.coverage], [step.density], marker="*", s=320, facecolor="none",
                   edgecolor="#d62728", linewidth=1.6, zorder=3,
                   label=f"chosen: {len(step.restricted)} restricted")  # fmt: skip
        ax.annotate(f"box {box.number}\ncov {step.coverage:.2f}, dens {step.density:.2f}",
                    (step.coverage, step.density), textcoords="offset points", xytext=(8, -26),
                    fontsize=8, color="#d62728")  # fmt: skip
        base = box.remaining_of_interest / box.remaining_cases
        ax.axhline(base, color="#555555", linestyle=":", linewidth=0.9,
                   label=f"base rate {base:.2f}")  # fmt: skip
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("coverage (share of all cases of interest in the box)")
        ax.set_ylabel("density (share of the box's cases of interest)")
        ax.set_title(f"box {box.number}: peeling trajectory", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=7)
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=list(axes), label="restricted parameters", shrink=0.85)
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    figure.suptitle(f"{discovery.cases.sweep}: {discovery.condition}", fontsize=11)
    figure.savefig(out, dpi=110, format="png")


def markdown_report(discovery: Discovery) -> str:
    """The discovery as Markdown: question, data, settings, boxes and how to read them."""
    cases, result = discovery.cases, discovery.result
    unit = "design points" if cases.unit == "point" else "runs"
    settings = result.settings
    lines = [
        f"# Scenario discovery: {cases.sweep}",
        "",
        f"**Cases of interest:** {discovery.condition}.",
        "",
        f"- Cases: {len(result.y)} {unit}{_replicates_text(cases)} of scenario `{cases.scenario}`"
        + (
            f", paired with `{cases.reference}` on the same design point and seed"
            if cases.reference
            else ""
        )  # fmt: skip
        + ".",
        f"- Of interest: {int(result.y.sum())} (base rate {result.base_rate:.3f}).",
        f"- PRIM: peel alpha {settings['peel_alpha']:g}, paste alpha {settings['paste_alpha']:g} "
        f"(pasting {'on' if settings['paste'] else 'off'}), minimum mass {settings['min_mass']:g}, "
        f"objective {settings['objective']}, up to {settings['max_boxes']} box(es).",
    ]
    lines += [f"- Note: {note}." for note in cases.notes]
    lines.append("")
    for box in result.boxes:
        step = box.step
        lines += [
            f"## Box {box.number}",
            "",
            f"Coverage **{step.coverage:.3f}**, density **{step.density:.3f}**, mass "
            f"**{step.mass:.3f}**: {step.cases} cases, {step.of_interest} of interest; "
            f"{_base_rate_text(box, result)}. Chosen on the trajectory: {box.selection}.",
            "",
        ]
        if not step.restricted:
            lines += ["No restriction raises the density: the whole design space.", ""]
            continue
        lines += ["| " + " | ".join(LIMIT_COLUMNS) + " |",
                  "|---" + "|---:" * (len(LIMIT_COLUMNS) - 1) + "|"]  # fmt: skip
        for name in step.restricted:
            cells = _limit_cells(name, box, result, cases)
            lines.append("| " + " | ".join([f"`{cells[0]}`", *cells[1:]]) + " |")
        lines.append("")
    if len(result.boxes) < settings["max_boxes"]:
        lines += [_no_more_boxes(result), ""]
    lines += [
        f"![Peeling trajectory]({TRAJECTORY_PNG})",
        "",
        "## How to read this",
        "",
        "- *Coverage*: share of all cases of interest inside the box; *density*: share of the "
        "box's cases that are of interest; *mass*: share of all cases inside the box.",
        "- A dash is an open limit (the box does not restrict that side).",
        "- *Quasi-p* (Bryant & Lempert 2010): how likely the box's density would be with that "
        "limit opened; above about 0.05 the limit may be an artefact of the sample.",
        "- The numbers are in-sample: with few design points or replicates, re-run with more "
        "samples (or another seed) before trusting a limit.",
        f"- Tables: `{BOXES_CSV}` (limits of every parameter per box), `{TRAJECTORY_CSV}` "
        "(every step of the trajectories).",
        "",
    ]
    return "\n".join(lines)


def command(
    sweep_dir: Path,
    metric: str,
    threshold: float,
    *,
    below: bool,
    scenario: str | None,
    relative_to: str | None,
    unit: str,
    out: Path | None,
    console: Console,
    **prim_settings: Any,
) -> Discovery:
    """``borderabm discover``: print the boxes, then write the files if ``out`` is given.

    Raises:
        DiscoveryError: For unusable input (see :func:`discover`), or an ``out`` that cannot be
            written (checked before computing, and reported after printing if writing fails).
    """
    if out is not None:
        from borderabm.experiments.run import prepare_output_dir

        try:
            prepare_output_dir(out)
        except OSError as error:
            raise DiscoveryError(
                f"cannot write outputs: {error.strerror or error}", str(out)
            ) from None
    found = discover(ResultsStore(sweep_dir), metric, threshold, below=below, scenario=scenario,
                     relative_to=relative_to, unit=unit, **prim_settings)  # fmt: skip
    print_discovery(found, console)
    if out is not None:
        try:
            written = write_outputs(found, out)
        except OSError as error:  # the boxes are printed above, so nothing is lost
            raise DiscoveryError(
                f"cannot write outputs: {error.strerror or error}", str(out)
            ) from None
        console.print("\nwrote " + ", ".join(str(p) for p in written))
    return found
