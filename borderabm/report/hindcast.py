"""The hindcast report: per-year tables, scores, charts (Markdown, one-page HTML, PNG, CSV).

Presentation only: every number comes from :class:`~borderabm.analysis.hindcast.Hindcast`.
``hindcast.csv`` holds the shown numbers at full precision (one row per series and year);
``runs.csv`` holds every run's per-year values (draw, posterior row, replicate, seed), so each
number of the report can be recomputed from a single run.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import pandas as pd
from rich.table import Table

from borderabm.analysis.hindcast import (
    CALIBRATION_YEAR,
    INTERVAL,
    MISS_TOLERANCE,
    Hindcast,
    SeriesResult,
    is_miss,
)
from borderabm.files import atomic_write
from borderabm.report import charts
from borderabm.report.format import (
    estimate_text,
    html_table,
    html_text,
    inline_markdown_html,
    markdown_table,
    markdown_text,
    one_line,
    plain_frame,
    range_text,
    readable_number,
)

SCORE_TEXT = (
    "**Error score**: the mean absolute log ratio, mean over years of |ln(model mean / published "
    "value)|, over the held-out years with a published figure (0 = exact; 0.69 = a factor of two). "
    "Years where either number is zero are left out. **Inside**: the share of held-out years whose "
    "model mean lies inside the published spread [low, high] (the range across definitions and "
    "sources; a single figure is a spread of one value). A **miss** is a year where the model's "
    f"interval stays more than a factor {MISS_TOLERANCE:g} away from the published spread; its "
    "**cause** is written into "
    "`borderabm/data/history/published.toml` (field `cause`) by whoever explains it."
)


def _interval_text() -> str:
    low, high = (round(q * 100) for q in INTERVAL)
    return f"{low}–{high}%"


def _model_text(result: SeriesResult, year: int) -> str:
    estimate = result.model[year]
    if not math.isfinite(estimate.mean):
        return "—"
    return estimate_text(estimate.mean, estimate.low, estimate.high)


def _score(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "n/a"


def _share(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else "n/a"


def score_rows(hindcast: Hindcast) -> tuple[list[str], list[list[str]]]:
    """The score table: one row per series."""
    header = ["series", "unit", "held-out years compared", "error score (held out)",
              f"error score ({CALIBRATION_YEAR}, calibration)", "inside spread (held out)",
              "misses"]  # fmt: skip
    rows = []
    for result in hindcast.series:
        misses = [str(p.year) for p in result.published if is_miss(result.model[p.year], p)]
        label = result.spec.label + (" *(not in the model's daily series)*"
                                     if result.missing_column() else "")  # fmt: skip
        rows.append([label, result.spec.unit, str(result.years_scored),
                     _score(result.score_held_out), _score(result.score_calibration),
                     _share(result.inside_share), ", ".join(misses) or "—"])  # fmt: skip
    return header, rows


def year_rows(result: SeriesResult) -> tuple[list[str], list[list[str]]]:
    """One series' years: model mean [interval], published value [spread], role, miss, cause."""
    header = ["year", f"model mean [{_interval_text()}]", "published [spread]", "role", "conf.",
              "miss", "cause", "definition; source"]  # fmt: skip
    published = {p.year: p for p in result.published}
    rows = []
    for year in sorted(result.model):
        figure = published.get(year)
        if figure is None:
            rows.append([str(year), _model_text(result, year), "—", "", "", "", "", ""])
            continue
        spread = ("" if figure.low == figure.high
                  else f" [{range_text(figure.low, figure.high)}]")  # fmt: skip
        role = "**calibration**" if figure.role == "calibration" else "held out"
        miss = "**miss**" if is_miss(result.model[year], figure) else ""
        rows.append([str(year), _model_text(result, year), readable_number(figure.value) + spread,
                     role, figure.confidence, miss, figure.cause or ("*to explain*" if miss else ""),
                     f"{figure.definition}; {figure.source}"])  # fmt: skip
    return header, rows


def chart(result: SeriesResult, path: Path) -> Path:
    """Model mean and interval per year against the published figures, 2024 marked."""
    figure, axes = charts.new_figure(7.0, 3.6)
    ax = axes[0, 0]
    years = sorted(result.model)
    mean = [result.model[y].mean for y in years]
    low = [result.model[y].low for y in years]
    high = [result.model[y].high for y in years]
    ax.axvspan(CALIBRATION_YEAR - 0.4, CALIBRATION_YEAR + 0.4, color=charts.WITHIN, zorder=0,
               label=f"calibration year {CALIBRATION_YEAR}")  # fmt: skip
    ax.fill_between(years, low, high, color=charts.PRIMARY, alpha=0.2,
                    label=f"model {_interval_text()}")  # fmt: skip
    ax.plot(years, mean, "-", marker=".", color=charts.PRIMARY, label="model mean")
    for role, marker, colour, name in (("held_out", "o", charts.INK, "published (held out)"),
                                       ("calibration", "*", charts.ACCENT,
                                        "published (calibration target)")):  # fmt: skip
        shown = [p for p in result.published if p.role == role]
        if not shown:
            continue
        ax.errorbar([p.year for p in shown], [p.value for p in shown],
                    yerr=[[p.value - p.low for p in shown], [p.high - p.value for p in shown]],
                    fmt=marker, color=colour, ecolor=colour, capsize=3, markersize=7,
                    label=name, zorder=3)  # fmt: skip
    if result.missing_column():
        charts.empty_panel_note(ax, "not in the model's daily series")
    ax.set_xticks(years)
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_ylabel(result.spec.unit)
    ax.set_ylim(bottom=0)
    charts.style_axes(ax, result.spec.label, grid="y")
    charts.legend(ax, loc="best")
    charts.save(figure, path)
    return path


def _chart_name(result: SeriesResult) -> str:
    return f"hindcast-{result.spec.key}.png"


def _intro(hindcast: Hindcast) -> list[str]:
    draws = ", ".join(str(d.row + 2) for d in hindcast.draws)
    first, last = hindcast.years[0], hindcast.years[-1]
    return [
        f"Scenario `{hindcast.scenario}`, years {first}–{last}; {len(hindcast.draws)} posterior "
        f"draws × {hindcast.replicates} replicate{'s' if hindcast.replicates > 1 else ''} = "
        f"{len(hindcast.runs)} runs. Draws are rows {draws} of `{hindcast.posterior}` (file lines, "
        f"header = line 1); replicate *k* runs on seed {hindcast.seed} + *k* − 1, the same seeds for "
        "every draw.",
        f"Model numbers are the mean over draws × replicates with the {_interval_text()} interval "
        "across them; counts are never below zero. A year is measured only if the run covers it "
        "day by day: calendar-year totals for attacks, returns and deportations; Pakistan's fiscal "
        "year July–June ending in the year for trade (FY2015 = Jul 2014 – Jun 2015); the value on "
        "31 December for the fence; the mean over the year's days for the registered refugees and "
        "for people and trucks a day (open days: the days Torkham was open).",
        f"The published figures of {CALIBRATION_YEAR} marked *calibration* are the targets the "
        "posterior was fitted to; every other year is held out (never fitted).",
        SCORE_TEXT,
    ]


def scores_table(hindcast: Hindcast) -> Table:
    """The score table for the terminal."""
    header, rows = score_rows(hindcast)
    table = Table(title=f"Hindcast {hindcast.scenario} {hindcast.years[0]}–{hindcast.years[-1]}")
    for column in header:
        table.add_column(column, justify="left" if column in ("series", "unit") else "right")
    for row in rows:
        table.add_row(*[cell.replace("*", "") for cell in row])
    return table


def numbers_frame(hindcast: Hindcast) -> pd.DataFrame:
    """The report's numbers at full precision: one row per series and year."""
    rows = []
    for result in hindcast.series:
        published = {p.year: p for p in result.published}
        for year, estimate in sorted(result.model.items()):
            figure = published.get(year)
            rows.append({
                "series": result.spec.key, "year": year, "column": result.spec.column,
                "aggregate": result.spec.aggregate, "model_mean": estimate.mean,
                "model_low": estimate.low, "model_high": estimate.high, "runs": estimate.runs,
                "published": figure.value if figure else math.nan,
                "published_low": figure.low if figure else math.nan,
                "published_high": figure.high if figure else math.nan,
                "role": figure.role if figure else "",
                "miss": bool(figure and is_miss(estimate, figure)),
                "cause": figure.cause if figure else "",
            })  # fmt: skip
    return pd.DataFrame(rows)


def runs_frame(hindcast: Hindcast) -> pd.DataFrame:
    """Every run's per-year values: draw, posterior row, replicate, seed, series, year, value."""
    rows_by_draw = {d.index: d.row for d in hindcast.draws}
    return pd.DataFrame([
        {"draw": run.draw, "posterior_row": rows_by_draw[run.draw], "replicate": run.replicate,
         "seed": hindcast.seed + run.replicate, "series": key, "year": year, "value": value}
        for run in hindcast.runs for key, years in run.values.items()
        for year, value in sorted(years.items())
    ])  # fmt: skip


def write_report(hindcast: Hindcast, out: Path) -> list[Path]:
    """Write ``hindcast.md``, ``hindcast.html``, a PNG per series, ``hindcast.csv``, ``runs.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    pngs = [chart(result, out / _chart_name(result)) for result in hindcast.series]
    title = f"Hindcast: {hindcast.scenario}, {hindcast.years[0]}–{hindcast.years[-1]}"
    # The scenario and posterior names are user text: the title escaped, controls shown.
    md = [f"# {markdown_text(title)}", ""] + [one_line(p) + "\n" for p in _intro(hindcast)]
    md += ["## Scores", "", markdown_table(*score_rows(hindcast)), ""]
    for result in hindcast.series:
        md += [f"## {result.spec.label}", "",
               f"Daily column `{result.spec.column}`, measured as `{result.spec.aggregate}`; "
               f"{result.spec.unit}.", "", markdown_table(*year_rows(result)), "",
               f"![{result.spec.label}]({_chart_name(result)})", ""]  # fmt: skip
    md += ["Files: `hindcast.csv` (these numbers at full precision), `runs.csv` (every run's "
           "per-year values), one PNG per series.", ""]  # fmt: skip
    atomic_write(out / "hindcast.md", lambda path: path.write_text("\n".join(md)))

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html_text(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1300px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}th{background:#f2f2f2}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>{html_text(title)}</h1>",
    ]
    parts += [f"<p>{inline_markdown_html(p)}</p>" for p in _intro(hindcast)]

    def table(header: list[str], rows: list[list[str]]) -> str:
        return html_table([inline_markdown_html(h) for h in header],
                          [[inline_markdown_html(c) for c in row] for row in rows])  # fmt: skip

    parts += ["<h2>Scores</h2>", table(*score_rows(hindcast))]
    for result, png in zip(hindcast.series, pngs, strict=True):
        image = base64.b64encode(png.read_bytes()).decode()
        parts += [f"<h2>{html_text(result.spec.label)}</h2>", table(*year_rows(result)),
                  f"<img alt='{html_text(result.spec.label)}' "
                  f"src='data:image/png;base64,{image}'>"]  # fmt: skip
    parts.append("</body></html>")
    atomic_write(out / "hindcast.html", lambda path: path.write_text("\n".join(parts)))
    atomic_write(out / "hindcast.csv",
                 lambda path: plain_frame(numbers_frame(hindcast)).to_csv(path, index=False))  # fmt: skip
    atomic_write(
        out / "runs.csv", lambda path: plain_frame(runs_frame(hindcast)).to_csv(path, index=False)
    )
    return [out / "hindcast.md", out / "hindcast.html", out / "hindcast.csv", out / "runs.csv",
            *pngs]  # fmt: skip
