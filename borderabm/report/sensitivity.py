"""The sensitivity report: the indices as a console table, a CSV and a bar chart per panel."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from rich.console import Console
from rich.table import Table

from borderabm.analysis.sensitivity import INDICES, method_of
from borderabm.files import atomic_write
from borderabm.metrics import METRICS, metric_info, metric_label, summarise
from borderabm.report import charts
from borderabm.report.format import plain_frame

CSV_NAME = "sensitivity.csv"
PNG_NAME = "sensitivity.png"
HEADINGS = {
    "morris": "Morris screening: μ* (mean |elementary effect| over the parameter's range), 95% CI",
    "sobol": "Sobol indices: total (ST) and first-order (S1) shares of variance, 95% CI",
}


def summary_metric_names() -> list[str]:
    """Every metric a run's summary holds, sorted: what ``--metric`` may name.

    The summary of one day of zeros in every registered daily column has the keys of every
    run's summary (per-gate totals aside), so the list follows :func:`summarise` exactly.
    """
    return sorted(summarise(pd.DataFrame({name: [0.0] for name in METRICS})))


def check_metric_names(metrics: list[str]) -> None:
    """Refuse a ``--metric`` that no run summary holds, before the sweep runs.

    Raises:
        ValueError: Naming the unknown metrics and the allowed ones.
    """
    allowed = summary_metric_names()
    unknown = [name for name in metrics if name not in allowed]
    if unknown:
        raise ValueError(f"--metric: unknown metric {', '.join(repr(m) for m in unknown)} "
                         f"(allowed: {', '.join(allowed)})")  # fmt: skip


def print_indices(table: pd.DataFrame, console: Console, title: str = "") -> None:
    """Print a table of :func:`~borderabm.analysis.sensitivity.analyse`, to 4 significant digits.

    Metrics are named by their labels with units (the CSV keeps the names).
    """
    method = method_of(table)
    label = "Morris elementary effects" if method == "morris" else "Sobol indices"
    out = Table(title=f"{title}: {label}" if title else label)
    for column in ("scenario", "metric", "parameter"):
        out.add_column(column)
    for index in INDICES[method]:
        out.add_column(index, justify="right")
    for row in table.itertuples(index=False):
        record = row._asdict()
        # The label carries the unit of the Morris indices (the metric's unit per full range).
        cells = [str(record["scenario"]), metric_label(str(record["metric"])),
                 str(record["parameter"])]  # fmt: skip
        cells += [_index_text(record[index]) for index in INDICES[method]]
        out.add_row(*cells)
    console.print(out)


def _index_text(value: float) -> str:
    """An index to 4 significant digits, without an exponent below 10^15 (211,500, not 2.115e+05)."""
    if not math.isfinite(value) or value == 0 or abs(value) >= 1e15:
        return f"{value:.4g}"
    decimals = max(0, 3 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def panel_title(scenario: str, metric: str) -> str:
    """A chart panel's title: the scenario and the metric's label with its unit."""
    return f"{scenario} — {metric_label(metric)}"


def morris_axis_label(metric: str) -> str:
    """The μ* axis of a Morris panel, in the metric's unit ("μ* (US$ per full parameter range)")."""
    try:
        unit = metric_info(metric).unit
    except KeyError:  # a metric the registry does not know (a hand-made store)
        unit = "metric units"
    return f"μ* ({unit} per full parameter range)"


def write_outputs(table: pd.DataFrame, folder: Path) -> list[Path]:
    """Write ``sensitivity.csv`` and ``sensitivity.png`` into ``folder``; return their paths."""
    csv = folder / CSV_NAME
    atomic_write(csv, lambda path: plain_frame(table).to_csv(path, index=False))
    return [csv, bar_chart(table, folder / PNG_NAME)]


def bar_chart(table: pd.DataFrame, out: Path) -> Path:
    """Draw one horizontal bar chart per scenario and metric into one PNG.

    Morris panels show ``mu_star`` with its 95% interval as an error bar; Sobol panels show ``ST``
    and ``S1`` side by side, with theirs. In each panel the most influential parameter is on top.
    Undefined (NaN) indices are drawn as empty bars.

    Args:
        table: A table of :func:`~borderabm.analysis.sensitivity.analyse`.
        out: The PNG file to write (its folder is created).

    Returns:
        ``out``.

    Raises:
        ValueError: If the table is empty or not a sensitivity table.
    """
    if table.empty:
        raise ValueError("no sensitivity indices to draw")
    method = method_of(table)
    panels = list(dict.fromkeys(zip(table["scenario"], table["metric"], strict=True)))
    num_parameters = table.groupby(["scenario", "metric"]).size().max()
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    panel_height = max(2.4, 0.5 * num_parameters * (2 if method == "sobol" else 1) + 1.4)
    figure, axes = charts.new_figure(6.0 * columns, panel_height * rows + 0.8, rows, columns)
    for ax, (scenario, metric) in zip(axes.flat, panels, strict=False):
        panel = table[(table["scenario"] == scenario) & (table["metric"] == metric)]
        if method == "morris":
            _morris_panel(ax, panel)
            ax.set_xlabel(morris_axis_label(metric))
        else:
            _sobol_panel(ax, panel)
        charts.style_axes(ax, panel_title(scenario, metric), grid="x")
        indices = panel[list(INDICES[method])].to_numpy(dtype=float)
        if np.all(indices == 0.0):
            charts.empty_panel_note(ax, "all indices 0: the metric is constant over the design")
        ax.tick_params(axis="y", labelsize=9)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    sweep = table.attrs.get("sweep")
    heading = HEADINGS[method]
    charts.title(figure, f"{sweep}: {heading}" if sweep else heading)
    return charts.save(figure, Path(out))


def _morris_panel(ax: Axes, panel: pd.DataFrame) -> None:
    panel = panel.assign(_order=panel["mu_star"].fillna(-np.inf)).sort_values("_order")
    positions = np.arange(len(panel))
    ax.barh(positions, panel["mu_star"].fillna(0.0), xerr=panel["mu_star_conf"].fillna(0.0),
            color=charts.PRIMARY, ecolor=charts.INK, capsize=3)  # fmt: skip
    ax.set_yticks(positions, panel["parameter"])
    ax.set_xlim(left=0.0)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useMathText=True)


def _sobol_panel(ax: Axes, panel: pd.DataFrame) -> None:
    panel = panel.assign(_order=panel["ST"].fillna(-np.inf)).sort_values("_order")
    positions = np.arange(len(panel))
    height = 0.38
    ax.barh(positions + height / 2, panel["ST"].fillna(0.0), height,
            xerr=panel["ST_conf"].fillna(0.0), color=charts.ACCENT, ecolor=charts.INK, capsize=3,
            label="ST (total)")  # fmt: skip
    ax.barh(positions - height / 2, panel["S1"].fillna(0.0), height,
            xerr=panel["S1_conf"].fillna(0.0), color=charts.PRIMARY, ecolor=charts.INK,
            capsize=3, label="S1 (first order)")  # fmt: skip
    ax.set_yticks(positions, panel["parameter"])
    ax.axvline(0.0, color=charts.MUTED, linewidth=0.8)
    ax.set_xlabel("share of variance")
    values = panel[["S1", "ST"]].to_numpy(dtype=float)
    low = min(0.0, float(np.nanmin(values, initial=0.0))) - 0.05
    high = max(1.0, float(np.nanmax(values, initial=0.0))) + 0.1
    ax.set_xlim(low, high)
    conf = panel[["S1_conf", "ST_conf"]].to_numpy(dtype=float)
    if np.any(values - conf < low) or np.any(values + conf > high):
        # Small base samples give wide bootstrap intervals: say so rather than rescale the axis.
        ax.set_xlabel("share of variance (some 95% intervals run past the axis)")
    charts.legend(ax, loc="lower right")
