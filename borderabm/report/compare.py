"""The comparison report: a table of paired differences and charts, as HTML and Markdown.

Charts: cumulative time series of key metrics with 95% bands across replicates; militant and
irregular crossings by sector; cost against effect for each scenario.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from borderabm.analysis.compare import band, short_number  # noqa: E402
from borderabm.metrics import metric_label  # noqa: E402

SERIES_METRICS = (
    "militant_crossings",
    "attacks",
    "formal_trade_usd",
    "informal_trade_usd",
    "stranded_people",
    "gates_closed_against_normal",
)
CUMULATIVE = {"militant_crossings", "attacks", "formal_trade_usd", "informal_trade_usd"}
SECTOR_METRICS = ("militant_crossings", "irregular_crossings")
EFFECTS = ("attacks", "formal_trade_usd", "militant_crossings")
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
    return np.cumsum(values, axis=1) if column in CUMULATIVE else values


def time_series_chart(series: pd.DataFrame, runs: pd.DataFrame, out: Path) -> Path:
    """Key metrics over time, mean and 95% band per scenario."""
    names = list(dict.fromkeys(runs["scenario"]))
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharex=True)
    for ax, column in zip(axes.ravel(), SERIES_METRICS, strict=True):
        for colour, name in zip(plt.get_cmap("tab10").colors, names, strict=False):
            values = _series_matrix(series, runs, name, column)
            mean, low, high = band(values)
            days = np.arange(mean.size)
            ax.plot(days, mean, color=colour, label=name)
            ax.fill_between(days, low, high, color=colour, alpha=0.2, lw=0)
        kind = "cumulative" if column in CUMULATIVE else "daily"
        ax.set_title(f"{metric_label(column)}, {kind}", fontsize=10)
        ax.set_xlabel("day")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Over time: mean of replicates with 95% band")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def sector_chart(series: pd.DataFrame, runs: pd.DataFrame, sectors: list[str], out: Path) -> Path:
    """Crossings by sector (run totals, mean of replicates with 95% interval)."""
    names = list(dict.fromkeys(runs["scenario"]))
    fig, axes = plt.subplots(1, 2, figsize=(15, 5))
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(sectors))
    for ax, metric in zip(axes, SECTOR_METRICS, strict=True):
        for k, (colour, name) in enumerate(zip(plt.get_cmap("tab10").colors, names, strict=False)):
            ids = runs.loc[runs["scenario"] == name, "run_id"]
            mine = series[series["run_id"].isin(ids)]
            totals = mine.groupby("run_id")[[f"{metric}.{s}" for s in sectors]].sum().to_numpy()
            mean, low, high = band(totals)
            ax.bar(x + k * width, mean, width, yerr=_error_bars(mean, low, high), color=colour,
                   label=name, capsize=2)  # fmt: skip
        ax.set_xticks(x + width * (len(names) - 1) / 2, sectors, rotation=45, ha="right")
        ax.set_title(f"{metric_label(metric)} by sector (run totals)", fontsize=10)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def cost_effect_chart(runs: pd.DataFrame, out: Path) -> Path:
    """Policy cost against effects, one point per scenario with 95% intervals."""
    names = list(dict.fromkeys(runs["scenario"]))
    fig, axes = plt.subplots(1, len(EFFECTS), figsize=(15, 4.5))
    for ax, metric in zip(axes, EFFECTS, strict=True):
        for colour, name in zip(plt.get_cmap("tab10").colors, names, strict=False):
            group = runs[runs["scenario"] == name]
            cost = band(group["policy_cost_usd"].to_numpy() / 1e6)
            effect = band(group[metric].to_numpy())
            ax.errorbar(cost[0], effect[0], xerr=_error_bars(*cost), yerr=_error_bars(*effect),
                        fmt="o", color=colour, label=name, capsize=3)  # fmt: skip
        ax.set_xlabel("Policy cost (US$ million)")
        ax.set_title(metric_label(metric), fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle("Cost against effect (mean and 95% interval)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _cell(row: pd.Series, reference: bool) -> str:
    text = f"{short_number(row['mean'])} [{short_number(row['low'])} – {short_number(row['high'])}]"
    if not reference:
        mark = " ✱" if row["clear"] else ""
        low, high = short_number(row["diff_low"], True), short_number(row["diff_high"], True)
        text += f"<br>Δ {short_number(row['diff'], True)} [{low} – {high}]{mark}"
    return text


def write_report(
    table: pd.DataFrame,
    runs: pd.DataFrame,
    series: pd.DataFrame,
    sectors: list[str],
    out_dir: Path,
    title: str,
    replicates: int,
) -> list[Path]:
    """Write ``index.html``, ``report.md`` and the charts into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = [
        time_series_chart(series, runs, out_dir / "timeseries.png"),
        sector_chart(series, runs, sectors, out_dir / "sectors.png"),
        cost_effect_chart(runs, out_dir / "cost_effect.png"),
    ]
    names = list(dict.fromkeys(table["scenario"]))
    metrics = list(dict.fromkeys(table["metric"]))
    lookup = table.set_index(["scenario", "metric"])
    intro = (f"{replicates} replicates per scenario on common seeds. "
             + INTERVALS.format(reference=names[0]))  # fmt: skip

    rows_html = "".join(
        "<tr><th>"
        + html.escape(metric_label(m))
        + "</th>"
        + "".join(f"<td>{_cell(lookup.loc[(n, m)], i == 0)}</td>" for i, n in enumerate(names))
        + "</tr>"
        for m in metrics
    )
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    images = "".join(f'<p><img src="{c.name}" alt="{c.stem}" style="max-width:100%"></p>'
                     for c in charts)  # fmt: skip
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px}}</style></head>
<body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>
<table><tr><th>metric</th>{head}</tr>{rows_html}</table>{images}</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page)

    md_rows = [
        f"| {metric_label(m)} | "
        + " | ".join(
            _cell(lookup.loc[(n, m)], i == 0).replace("<br>", " ") for i, n in enumerate(names)
        )
        + " |"
        for m in metrics
    ]
    markdown = "\n".join(
        [f"# {title}", "", intro, "", "| metric | " + " | ".join(names) + " |",
         "|---|" + "---|" * len(names), *md_rows, "",
         *[f"![{c.stem}]({c.name})" for c in charts], ""]
    )  # fmt: skip
    report_md = out_dir / "report.md"
    report_md.write_text(markdown)
    return [index, report_md, *charts]
