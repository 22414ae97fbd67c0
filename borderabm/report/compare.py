"""The comparison report: a table of paired differences and charts, as HTML and Markdown.

Charts: cumulative time series of key metrics with 95% bands across replicates; militant and
irregular crossings by sector; cost against effect for each scenario; and the difference maps ("where
it changes", :mod:`borderabm.report.diffmap`) with their numbers in ``places.csv``
(:func:`borderabm.analysis.places.place_table`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from borderabm.analysis.compare import band
from borderabm.analysis.places import PLACE_COLUMNS, place_labels, place_table
from borderabm.metrics import (
    REPORT_CUMULATIVE_METRICS,
    REPORT_EFFECT_METRICS,
    REPORT_SECTOR_METRICS,
    REPORT_SERIES_METRICS,
    MetricName,
    breakdown_column,
    metric_label,
)
from borderabm.report import charts, diffmap
from borderabm.report.format import (
    estimate_cell,
    html_table,
    html_text,
    markdown_table,
    markdown_text,
    plain_frame,
)
from borderabm.world import World, build_world

INTERVALS = (
    "Each cell: mean [95% interval: percentile bootstrap of the replicate mean, so never outside the "
    "replicates' range]; Δ = paired difference against {reference} [95% Student-t interval of the "
    "per-seed differences]; ✱ = that interval excludes zero (a clear difference)."
)


def _error_bars(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Asymmetric error-bar lengths (below, above) for matplotlib."""
    return np.vstack([np.atleast_1d(mean - low), np.atleast_1d(high - mean)])


def _series_matrix(series: pd.DataFrame, runs: pd.DataFrame, scenario: str, column: str):
    ids = runs.loc[runs["scenario"] == scenario, "run_id"]
    frame = series[series["run_id"].isin(ids)].pivot(index="run_id", columns="day", values=column)
    values = frame.to_numpy(dtype=float)
    return np.cumsum(values, axis=1) if column in REPORT_CUMULATIVE_METRICS else values


def time_series_chart(series: pd.DataFrame, runs: pd.DataFrame, out: Path) -> Path:
    """Key metrics over time, mean and 95% band per scenario."""
    names = list(dict.fromkeys(runs["scenario"]))
    figure, axes = charts.new_figure(20, 8, 2, 4, sharex=True)
    for ax, column in zip(axes.ravel(), REPORT_SERIES_METRICS, strict=True):
        for colour, name in zip(charts.SERIES, names, strict=False):
            values = _series_matrix(series, runs, name, column)
            mean, low, high = band(values)
            days = np.arange(mean.size)
            ax.plot(days, mean, color=colour, label=name)
            ax.fill_between(days, low, high, color=colour, alpha=0.2, lw=0)
        kind = "cumulative" if column in REPORT_CUMULATIVE_METRICS else "daily"
        charts.style_axes(ax, f"{metric_label(column)}, {kind}")
        ax.set_xlabel("day")
    charts.legend(axes[0, 0])
    charts.title(figure, "Over time: mean of replicates with 95% band")
    return charts.save(figure, out)


def sector_chart(series: pd.DataFrame, runs: pd.DataFrame, sectors: list[str], out: Path) -> Path:
    """Crossings by sector (run totals, mean of replicates with 95% interval)."""
    names = list(dict.fromkeys(runs["scenario"]))
    figure, axes = charts.new_figure(15, 5, 1, 2)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(sectors))
    for ax, metric in zip(axes[0], REPORT_SECTOR_METRICS, strict=True):
        for k, (colour, name) in enumerate(zip(charts.SERIES, names, strict=False)):
            ids = runs.loc[runs["scenario"] == name, "run_id"]
            mine = series[series["run_id"].isin(ids)]
            columns = [breakdown_column(metric, s) for s in sectors]
            totals = mine.groupby("run_id")[columns].sum().to_numpy()
            mean, low, high = band(totals)
            ax.bar(x + k * width, mean, width, yerr=_error_bars(mean, low, high), color=colour,
                   ecolor=charts.INK, label=name, capsize=2)  # fmt: skip
        ax.set_xticks(x + width * (len(names) - 1) / 2, sectors, rotation=45, ha="right")
        charts.style_axes(ax, f"{metric_label(metric)} by sector (run totals)", grid="y")
    charts.legend(axes[0, 0])
    charts.title(figure, "By sector: mean of replicates with 95% interval")
    return charts.save(figure, out)


def cost_effect_chart(runs: pd.DataFrame, out: Path) -> Path:
    """Policy cost against effects, one point per scenario with 95% intervals."""
    names = list(dict.fromkeys(runs["scenario"]))
    figure, axes = charts.new_figure(15, 4.5, 1, len(REPORT_EFFECT_METRICS))
    for ax, metric in zip(axes[0], REPORT_EFFECT_METRICS, strict=True):
        for colour, name in zip(charts.SERIES, names, strict=False):
            group = runs[runs["scenario"] == name]
            cost = band(group[MetricName.POLICY_COST_USD].to_numpy() / 1e6)
            effect = band(group[metric].to_numpy())
            ax.errorbar(cost[0], effect[0], xerr=_error_bars(*cost), yerr=_error_bars(*effect),
                        fmt="o", color=colour, label=name, capsize=3)  # fmt: skip
        ax.set_xlabel("Policy cost (US$ million)")
        charts.style_axes(ax, metric_label(metric))
    charts.legend(axes[0, 0])
    charts.title(figure, "Cost against effect (mean and 95% interval)")
    return charts.save(figure, out)


STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\n"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px}"
)


def write_report(
    table: pd.DataFrame,
    runs: pd.DataFrame,
    series: pd.DataFrame,
    sectors: list[str],
    out_dir: Path,
    title: str,
    replicates: int,
    *,
    world: World | None = None,
) -> list[Path]:
    """Write ``index.html``, ``report.md``, the charts, the maps and ``places.csv`` into ``out_dir``.

    Args:
        table: :func:`~borderabm.analysis.compare.compare_table` of the runs.
        runs: The compared runs (labelled, in comparison order).
        series: Their daily series (``run_id``, ``day``, the metrics and their breakdowns).
        sectors: The sectors the series breaks crossings down by.
        out_dir: The report's folder (created if missing).
        title: The report's title.
        replicates: Replicates per scenario.
        world: The map the runs were made on (the default map if None); the difference maps are
            left out, with a note, if the series' places are not this map's.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_files = [
        time_series_chart(series, runs, out_dir / "timeseries.png"),
        sector_chart(series, runs, sectors, out_dir / "sectors.png"),
        cost_effect_chart(runs, out_dir / "cost_effect.png"),
    ]
    places, map_note = report_places(runs, series, sectors, world)
    places_csv = out_dir / PLACES_CSV
    plain_frame(places).to_csv(places_csv, index=False)
    map_files = diffmap.write_difference_maps(places_world(world), places, out_dir) if len(
        places) else []  # fmt: skip
    names = list(dict.fromkeys(table["scenario"]))
    metrics = list(dict.fromkeys(table["metric"]))
    lookup = table.set_index(["scenario", "metric"])
    intro = (f"{replicates} replicates per scenario on common seeds. "
             + INTERVALS.format(reference=names[0]))  # fmt: skip

    def rows(line_break: str, label) -> list[list[str]]:
        return [[label(metric_label(m))]
                + [estimate_cell(m, lookup.loc[(n, m)], i == 0, line_break) for i, n in enumerate(names)]
                for m in metrics]  # fmt: skip

    header = ["metric", *names]
    images = "".join(f'<p><img src="{c.name}" alt="{c.stem}" style="max-width:100%"></p>'
                     for c in chart_files)  # fmt: skip
    where = html_text(MAPS_INTRO.format(reference=names[0])) + (
        f' <a href="{PLACES_CSV}">{PLACES_CSV}</a> holds the numbers.' if len(places) else ""
    )
    maps = "".join(f'<figure><img src="{m.name}" alt="{html_text(map_alt(m))}" '
                   'style="max-width:100%"></figure>' for m in map_files)  # fmt: skip
    if map_note:
        maps += f"<p>{html_text(map_note)}</p>"
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html_text(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{html_text(title)}</h1><p>{html_text(intro)}</p>
{html_table([html_text(h) for h in header], rows("<br>", html_text), row_headers=True)}
{images}
<h2>Where it changes</h2><p>{where}</p>
{maps}</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page)

    # User text (the scenario names, the title made of them) is escaped for Markdown.
    reference_md = markdown_text(names[0])
    intro_md = (f"{replicates} replicates per scenario on common seeds. "
                + INTERVALS.format(reference=reference_md))  # fmt: skip
    header_md = ["metric", *[markdown_text(n) for n in names]]
    markdown = "\n".join(
        [f"# {markdown_text(title)}", "", intro_md, "", markdown_table(header_md, rows(" ", str)),
         "", *[f"![{c.stem}]({c.name})" for c in chart_files], "", "## Where it changes", "",
         MAPS_INTRO.format(reference=reference_md) + f" {PLACES_CSV} holds the numbers.", "",
         *[f"![{map_alt(m)}]({m.name})" for m in map_files], map_note, ""]
    )  # fmt: skip
    report_md = out_dir / "report.md"
    report_md.write_text(markdown)
    return [index, report_md, *chart_files, places_csv, *map_files]


PLACES_CSV = "places.csv"
MAPS_INTRO = (
    "Per place, each scenario's own map and the policy minus {reference} (paired on common seeds; "
    "red: more, blue: fewer). Sectors are stretches of the border line, gates diamonds, towns dots."
)


def map_alt(path: Path) -> str:
    """The text of a difference map for a reader who cannot see it."""
    metric = path.stem.removeprefix("map_")
    return f"Difference map: {metric_label(metric)} by place, policy minus reference"


def places_world(world: World | None) -> World:
    """The map to draw on: the one given, else the default map (every shipped scenario's)."""
    return world if world is not None else build_world()


def report_places(
    runs: pd.DataFrame, series: pd.DataFrame, sectors: list[str], world: World | None
) -> tuple[pd.DataFrame, str]:
    """The report's per-place table (:func:`place_table`) and a note if it cannot be made.

    The table is empty (with its columns) when the series' sectors are not the map's: runs made on
    another map cannot be drawn on this one.
    """
    empty = pd.DataFrame(columns=list(PLACE_COLUMNS))
    drawn_on = places_world(world)
    labels = place_labels(drawn_on)
    if sectors and set(sectors) != set(labels["sector"]):
        return empty, "No difference maps: the runs' sectors are not those of the default map."
    return place_table(runs, series, labels), ""
