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

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from borderabm.experiments.designs import MORRIS_LEVELS
from borderabm.experiments.store import ResultsStore, default_results_dir

if TYPE_CHECKING:
    from rich.console import Console

METHODS = ("morris", "sobol")
INDICES = {
    "morris": ("mu_star", "mu_star_conf", "mu", "sigma"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}
BOOTSTRAP_SEED = 20_240_601
RESAMPLES = 1000
CONF_LEVEL = 0.95
FIXED_COLUMNS = ("run_id", "scenario", "point", "replicate", "seed")
CSV_NAME = "sensitivity.csv"
PNG_NAME = "sensitivity.png"


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
    kind = design.get("kind")
    if kind not in METHODS:
        raise ValueError(
            f"{store.root}: sensitivity analysis needs a Morris or Sobol design, but this sweep's "
            f"design kind is {kind!r} (allowed: {', '.join(METHODS)})"
        )
    names = list(design.get("parameters") or {})
    points: list[dict[str, Any]] = design.get("points") or []
    if not names:
        raise ValueError(f"{store.root}: the sweep varies no parameters; nothing to analyse")
    _check_design_size(kind, len(names), len(points), store.root)
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [
            [float(design["parameters"][n]["low"]), float(design["parameters"][n]["high"])]
            for n in names
        ],
    }
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
            y = means[metric]
            if kind == "morris":
                indices = _morris(problem, x, y, resamples, seed)
            else:
                indices = _sobol(problem, y, resamples, seed)
            for position, name in enumerate(names):
                row = {"scenario": scenario, "metric": metric, "parameter": name}
                row.update({index: float(values[position]) for index, values in indices.items()})
                rows.append(row)
    table = pd.DataFrame(rows, columns=["scenario", "metric", "parameter", *INDICES[kind]])
    table.attrs["method"] = kind
    table.attrs["sweep"] = (manifest.get("sweep") or {}).get("name", "")
    return table


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
        if c not in FIXED_COLUMNS and c not in names and pd.api.types.is_numeric_dtype(runs[c])
    ]
    if not metrics:
        metrics = [m for m in HEADLINE_METRICS if m in available]
        if not metrics:
            raise ValueError(f"{root}: no headline metrics in the runs; name metrics explicitly")
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise ValueError(
            f"{root}: unknown or non-numeric metric {', '.join(repr(m) for m in unknown)} "
            f"(available: {', '.join(available)})"
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


def _morris(
    problem: dict, x: np.ndarray, y: np.ndarray, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    from SALib.analyze import morris

    num_vars = problem["num_vars"]
    if _constant(y):
        return {index: np.zeros(num_vars) for index in INDICES["morris"]}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # One trajectory leaves sigma undefined (NaN) and NaN outputs warn; both are reported as NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = morris.analyze(
            problem,
            x,
            y,
            num_resamples=resamples,
            conf_level=CONF_LEVEL,
            num_levels=MORRIS_LEVELS,
            seed=seed,
        )
    return {index: np.ma.filled(np.ma.asarray(result[index], dtype=float), np.nan)
            for index in INDICES["morris"]}  # fmt: skip


def _sobol(problem: dict, y: np.ndarray, resamples: int, seed: int) -> dict[str, np.ndarray]:
    from SALib.analyze import sobol

    num_vars = problem["num_vars"]
    if _constant(y):
        return {index: np.zeros(num_vars) for index in INDICES["sobol"]}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sobol.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=CONF_LEVEL,
            seed=seed,
        )
    return {index: np.asarray(result[index], dtype=float) for index in INDICES["sobol"]}


def _method(table: pd.DataFrame) -> str:
    method = table.attrs.get("method")
    if method in METHODS:
        return method
    if {"mu_star", "mu_star_conf"} <= set(table.columns):
        return "morris"
    if {"S1", "ST"} <= set(table.columns):
        return "sobol"
    raise ValueError("not a sensitivity table: expected mu_star (Morris) or S1 and ST (Sobol)")


def bar_chart(table: pd.DataFrame, out: Path) -> Path:
    """Draw one horizontal bar chart per scenario and metric into one PNG.

    Morris panels show ``mu_star`` with its 95% interval as an error bar; Sobol panels show ``ST``
    and ``S1`` side by side, with theirs. In each panel the most influential parameter is on top.
    Undefined (NaN) indices are drawn as empty bars.

    Args:
        table: A table from :func:`analyse`.
        out: The PNG file to write (its folder is created).

    Returns:
        ``out``.

    Raises:
        ValueError: If the table is empty or not a sensitivity table.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if table.empty:
        raise ValueError("no sensitivity indices to draw")
    method = _method(table)
    panels = list(dict.fromkeys(zip(table["scenario"], table["metric"], strict=True)))
    num_parameters = table.groupby(["scenario", "metric"]).size().max()
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    panel_height = max(2.4, 0.5 * num_parameters * (2 if method == "sobol" else 1) + 1.4)
    figure = Figure(figsize=(6.0 * columns, panel_height * rows + 0.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax, (scenario, metric) in zip(axes.flat, panels, strict=False):
        panel = table[(table["scenario"] == scenario) & (table["metric"] == metric)]
        if method == "morris":
            _morris_panel(ax, panel)
        else:
            _sobol_panel(ax, panel)
        ax.set_title(f"{scenario} — {metric}", fontsize=11)
        indices = panel[list(INDICES[method])].to_numpy(dtype=float)
        if np.all(indices == 0.0):
            ax.text(0.5, 0.5, "all indices 0: the metric is constant over the design",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9,
                    color="#555555")  # fmt: skip
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", labelsize=9)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    sweep = table.attrs.get("sweep")
    heading = (
        "Morris screening: μ* (mean |elementary effect| over the parameter's range), 95% CI"
        if method == "morris"
        else "Sobol indices: total (ST) and first-order (S1) shares of variance, 95% CI"
    )
    figure.suptitle(f"{sweep}: {heading}" if sweep else heading, fontsize=12)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    return out


def _morris_panel(ax, panel: pd.DataFrame) -> None:
    panel = panel.assign(_order=panel["mu_star"].fillna(-np.inf)).sort_values("_order")
    positions = np.arange(len(panel))
    ax.barh(
        positions,
        panel["mu_star"].fillna(0.0),
        xerr=panel["mu_star_conf"].fillna(0.0),
        color="#3b75af",
        ecolor="#333333",
        capsize=3,
    )
    ax.set_yticks(positions, panel["parameter"])
    ax.set_xlabel("μ* (metric units per full parameter range)")
    ax.set_xlim(left=0.0)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useMathText=True)


def _sobol_panel(ax, panel: pd.DataFrame) -> None:
    panel = panel.assign(_order=panel["ST"].fillna(-np.inf)).sort_values("_order")
    positions = np.arange(len(panel))
    height = 0.38
    ax.barh(positions + height / 2, panel["ST"].fillna(0.0), height,
            xerr=panel["ST_conf"].fillna(0.0), color="#c0504d", ecolor="#333333", capsize=3,
            label="ST (total)")  # fmt: skip
    ax.barh(positions - height / 2, panel["S1"].fillna(0.0), height,
            xerr=panel["S1_conf"].fillna(0.0), color="#4f81bd", ecolor="#333333", capsize=3,
            label="S1 (first order)")  # fmt: skip
    ax.set_yticks(positions, panel["parameter"])
    ax.axvline(0.0, color="#555555", linewidth=0.8)
    ax.set_xlabel("share of variance")
    values = panel[["S1", "ST"]].to_numpy(dtype=float)
    low = min(0.0, float(np.nanmin(values, initial=0.0))) - 0.05
    high = max(1.0, float(np.nanmax(values, initial=0.0))) + 0.1
    ax.set_xlim(low, high)
    conf = panel[["S1_conf", "ST_conf"]].to_numpy(dtype=float)
    if np.any(values - conf < low) or np.any(values + conf > high):
        # Small base samples give wide bootstrap intervals: say so rather than rescale the axis.
        ax.set_xlabel("share of variance (some 95% intervals run past the axis)")
    ax.legend(loc="lower right", fontsize=8)


def command(
    sweep_file: Path,
    out: Path | None,
    metrics: list[str],
    workers: int | None,
    dask: str | None,
    console: Console,
) -> pd.DataFrame:
    """Run a Morris or Sobol sweep (resuming it), analyse it and report the indices.

    Writes ``sensitivity.csv`` and ``sensitivity.png`` into the results directory and prints the
    table to ``console``.

    Args:
        sweep_file: The sweep TOML file (design kind ``morris`` or ``sobol``).
        out: Results directory (default: ``results/<sweep name>``).
        metrics: Metrics to analyse; empty means the sweep file's ``metrics``, else the headline
            set.
        workers: Local worker processes (default: the usable cores).
        dask: Dask scheduler address, or ``"local"``; None runs locally.
        console: Where the table and progress lines go.

    Returns:
        The table of :func:`analyse`.

    Raises:
        ScenarioError: For a bad sweep file or scenario.
        ValueError: For a design that is not Morris or Sobol (checked before any run) or an
            unknown metric (checked after the runs, which stay stored: a re-run only analyses).
        StoreError: If the results directory holds a different sweep.
    """
    from borderabm.experiments.engines import default_workers
    from borderabm.experiments.sweep import load_sweep, run_sweep
    from borderabm.scenario import resolve_relative

    loaded = load_sweep(sweep_file, resolve_relative)
    kind = loaded.spec.design.kind
    if kind not in METHODS:
        raise ValueError(
            f"{sweep_file}: sensitivity analysis needs a Morris or Sobol design, but the design "
            f"kind is {kind!r} (allowed: {', '.join(METHODS)})"
        )
    store = ResultsStore(out or default_results_dir(loaded.spec.name))
    console.print(f"{loaded.spec.name}: {len(loaded.runs)} runs ({kind} design) into {store.root}")
    executed = run_sweep(loaded, store, workers=workers or default_workers(), dask=dask)
    console.print(f"{executed} runs executed")
    table = analyse(store, list(metrics) or list(loaded.spec.metrics))
    print_table(table, console, loaded.spec.name)
    csv = store.root / CSV_NAME
    table.to_csv(csv, index=False)
    png = bar_chart(table, store.root / PNG_NAME)
    console.print(f"wrote {csv}, {png}")
    return table


def print_table(table: pd.DataFrame, console: Console, title: str = "") -> None:
    """Print a table of :func:`analyse` as a rich table, indices to 4 significant digits."""
    from rich.table import Table

    method = _method(table)
    label = "Morris elementary effects" if method == "morris" else "Sobol indices"
    out = Table(title=f"{title}: {label}" if title else label)
    for column in ("scenario", "metric", "parameter"):
        out.add_column(column)
    for index in INDICES[method]:
        out.add_column(index, justify="right")
    for row in table.itertuples(index=False):
        record = row._asdict()
        cells = [str(record["scenario"]), str(record["metric"]), str(record["parameter"])]
        cells += [f"{record[index]:.4g}" for index in INDICES[method]]
        out.add_row(*cells)
    console.print(out)
