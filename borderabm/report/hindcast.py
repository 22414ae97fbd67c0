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
    NotCompared,
    Published,
    SeriesResult,
    check_causes,
    draws_meeting_tolerances,
    is_miss,
    load_not_compared,
    outside_tolerance,
    tolerance_checked,
)
from borderabm.files import atomic_write
from borderabm.metrics import MetricName
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

ROLE_TEXT = {"calibration": "**calibration**", "input": "*input*", "held_out": "held out"}
SCORE_TEXT = (
    "**Roles.** *calibration*: a fitted target, or one of its own sources or bounds (fitted "
    "data, not out of sample); *input*: the history scenario is built from the figure; *held "
    "out*: nothing in the model saw it. Every row says why it has its role. **Error score**: the "
    "mean absolute log ratio, mean over years of |ln(model mean / published value)|, over the "
    "HELD-OUT years only (0 = exact; 0.69 = a factor of two); years where either number is zero "
    "are left out. **Inside**: the share of held-out years whose model mean lies inside the "
    "published spread [low, high] (the range across definitions and sources; a single figure is "
    "a spread of one value). A **miss** is a held-out year whose model MEAN lies outside the "
    f"published spread by more than a factor {MISS_TOLERANCE:g} (below low ÷ {MISS_TOLERANCE:g} "
    f"or above high × {MISS_TOLERANCE:g}). Every miss has its **cause** written in "
    "`borderabm/data/history/published.toml` (field `cause`): the report is not built while one "
    "lacks it. A calibration row of the calibration year whose model mean lies outside the "
    "tolerance it was fitted to is flagged *outside the fitted tolerance*, with its cause."
)
# Charts read in these units, not in matplotlib's offset text ("1e9" above the axis).
CHART_SCALE = {
    MetricName.FORMAL_TRADE_USD.value: (1e9, "US$ bn a fiscal year"),
    MetricName.REGISTERED_REFUGEES.value: (1e6, "M people"),
    MetricName.FORMAL_RETURNS.value: (1e6, "M people a year"),
    MetricName.DEPORTED_PEOPLE.value: (1e6, "M people a year"),
}


def _interval_text() -> str:
    low, high = (round(q * 100) for q in INTERVAL)
    return f"{low}–{high}%"


def band_text(hindcast: Hindcast) -> str:
    """What the model interval is: across how many draws × seeds, and how many draws fit."""
    meeting, per_target = draws_meeting_tolerances(hindcast)
    seeds, draws = hindcast.replicates, len(hindcast.draws)
    targets = ", ".join(f"{name} {count}" for name, count in per_target.items()) or "none"
    return (f"{_interval_text()} across {draws} posterior draws × {seeds} "
            f"seed{'s' if seeds > 1 else ''}; only {meeting} of the {draws} draws meet every "
            f"calibration tolerance in the hindcast's own {CALIBRATION_YEAR} (mean over their "
            f"seeds; draws within each target's tolerance: {targets}; the trade target is "
            f"calendar {CALIBRATION_YEAR} and the hindcast measures fiscal years, so it is not "
            "checked). The band is mostly the spread of the prior and the surrogate's error, not "
            "of parameter sets that all reproduce the calibration")  # fmt: skip


def _model_text(result: SeriesResult, year: int) -> str:
    estimate = result.model[year]
    if not math.isfinite(estimate.mean):
        return "—"
    return estimate_text(estimate.mean, estimate.low, estimate.high)


def _score(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "n/a"


def _share(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else "n/a"


def _years(figures: list[Published]) -> str:
    return ", ".join(str(p.year) for p in figures) or "—"


def _fit_check(result: SeriesResult) -> str:
    checked = [p for p in result.figures("calibration") if tolerance_checked(result.spec, p)
               and math.isfinite(result.model[p.year].mean)]  # fmt: skip
    if not checked:
        return "—"
    out = [p.year for p in checked if outside_tolerance(result.spec, result.model[p.year], p)]
    return "**outside** " + ", ".join(map(str, out)) if out else "inside"


def _absent_note(hindcast: Hindcast, result: SeriesResult) -> str:
    if result.spec.key in hindcast.not_stored:
        return " *(not in the stored runs: rerun needed)*"
    return " *(not in the model's daily series)*" if result.missing_column() else ""


def score_rows(hindcast: Hindcast) -> tuple[list[str], list[list[str]]]:
    """The score table: one row per series with a published figure; scores over held-out rows."""
    header = ["series", "unit", "held-out years compared", "error score (held out)",
              "inside spread (held out)", "misses (held out)", "calibration rows (not scored)",
              "input rows (not scored)",
              f"{CALIBRATION_YEAR} model mean vs fitted tolerance"]  # fmt: skip
    rows = []
    for result in hindcast.series:
        if not result.published:
            continue
        misses = (f"{len(result.misses)}: " + ", ".join(map(str, result.misses))
                  if result.misses else "0")  # fmt: skip
        rows.append([result.spec.label + _absent_note(hindcast, result), result.spec.unit,
                     str(result.years_scored), _score(result.score_held_out),
                     _share(result.inside_share), misses,
                     _years(result.figures("calibration")), _years(result.figures("input")),
                     _fit_check(result)])  # fmt: skip
    return header, rows


def totals(hindcast: Hindcast) -> tuple[int, int]:
    """Held-out comparisons and misses over every series."""
    compared = sum(r.years_scored for r in hindcast.series)
    return compared, sum(len(r.misses) for r in hindcast.series)


def _fitted_text(figure: Published) -> str:
    fitted = figure.fitted
    if fitted is None:
        return ""
    return (f"{readable_number(fitted.value)} [{range_text(fitted.low, fitted.high)}] "
            f"({fitted.statistic}, target `{fitted.name}`)")  # fmt: skip


def year_rows(result: SeriesResult) -> tuple[list[str], list[list[str]]]:
    """One series' years: model, published, role and why, fitted tolerance, miss, cause, source."""
    header = [
        "year",
        f"model mean [{_interval_text()}]",
        "published [spread]",
        "role",
        "why this role",
        f"fitted tolerance ({CALIBRATION_YEAR} target)",
        "miss",
        "cause",
        "definition; source",
    ]
    published = {p.year: p for p in result.published}
    rows = []
    for year in sorted(result.model):
        figure = published.get(year)
        if figure is None:
            rows.append([str(year), _model_text(result, year), "—", "", "", "", "", "", ""])
            continue
        spread = ("" if figure.low == figure.high
                  else f" [{range_text(figure.low, figure.high)}]")  # fmt: skip
        estimate = result.model[year]
        if is_miss(estimate, figure):
            flag = "**miss**"
        elif outside_tolerance(result.spec, estimate, figure):
            flag = "**outside the fitted tolerance**"
        else:
            flag = ""
        note = f" {figure.note}" if figure.note else ""
        rows.append([str(year), _model_text(result, year), readable_number(figure.value) + spread,
                     ROLE_TEXT[figure.role], figure.why, _fitted_text(figure), flag,
                     (figure.cause or "*cause not written*") if flag
                     else (figure.cause if figure.role == "held_out" else ""),
                     f"{figure.definition}; {figure.source}.{note}"])  # fmt: skip
    return header, rows


def chart(result: SeriesResult, path: Path, band: str = "") -> Path:
    """Model mean and interval per year against the published figures, by role.

    Calibration rows of the calibration year are drawn with the tolerance they were fitted to.
    """
    scale, unit = CHART_SCALE.get(result.spec.key, (1.0, result.spec.unit))
    figure, axes = charts.new_figure(7.0, 3.6)
    ax = axes[0, 0]
    years = sorted(result.model)
    mean = [result.model[y].mean / scale for y in years]
    low = [result.model[y].low / scale for y in years]
    high = [result.model[y].high / scale for y in years]
    ax.axvspan(CALIBRATION_YEAR - 0.4, CALIBRATION_YEAR + 0.4, color=charts.WITHIN, zorder=0,
               label=f"calibration year {CALIBRATION_YEAR}")  # fmt: skip
    ax.fill_between(years, low, high, color=charts.PRIMARY, alpha=0.2,
                    label=f"model {_interval_text()} (draws × seeds)")  # fmt: skip
    ax.plot(years, mean, "-", marker=".", color=charts.PRIMARY, label="model mean")
    styles = (("held_out", "o", charts.INK, "published (held out)"),
              ("calibration", "*", charts.ACCENT,
               f"published (calibration; {CALIBRATION_YEAR} bar: fitted tolerance)"),
              ("input", "s", charts.MUTED, "published (input of the history)"))  # fmt: skip
    for role, marker, colour, name in styles:
        shown = result.figures(role)
        if not shown:
            continue
        centre, below, above = [], [], []
        for p in shown:
            fitted = p.fitted if tolerance_checked(result.spec, p) else None
            value, lo, hi = ((fitted.value, fitted.low, fitted.high) if fitted
                             else (p.value, p.low, p.high))  # fmt: skip
            centre.append(value / scale)
            below.append((value - lo) / scale)
            above.append((hi - value) / scale)
        ax.errorbar([p.year for p in shown], centre, yerr=[below, above], fmt=marker,
                    color=colour, ecolor=colour, capsize=3, markersize=7, label=name,
                    zorder=3)  # fmt: skip
    if result.missing_column():
        charts.empty_panel_note(ax, "no model value")
    ax.set_xticks(years)
    ax.tick_params(axis="x", labelrotation=45)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.set_ylabel(unit)
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
    compared, misses = totals(hindcast)
    outside = [(r, p) for r in hindcast.series for p in r.figures("calibration")
               if outside_tolerance(r.spec, r.model[p.year], p)]  # fmt: skip
    lines = [
        f"Scenario `{hindcast.scenario}`, years {first}–{last}; {len(hindcast.draws)} posterior "
        f"draws × {hindcast.replicates} replicate{'s' if hindcast.replicates > 1 else ''} = "
        f"{len(hindcast.runs)} runs. Draws are rows {draws} of `{hindcast.posterior}` (file lines, "
        f"header = line 1); replicate *k* runs on seed {hindcast.seed} + *k* − 1, the same seeds for "
        "every draw.",
        f"Model numbers are the mean over draws × replicates with the band {band_text(hindcast)}. "
        "Counts are never below zero. A year is measured only if the run covers it "
        "day by day: calendar-year totals for attacks, returns and deportations; Pakistan's fiscal "
        "year July–June ending in the year for trade (FY2015 = Jul 2014 – Jun 2015); the value on "
        "31 December for the fence; the mean over the year's days for the registered refugees and "
        "for people and trucks a day (open days: the days the gate was open); a week or a month "
        "where the series names it.",
        f"The fitted targets are {CALIBRATION_YEAR}'s (PIPS attacks by province, customs trade, "
        "the Torkham and Chaman gate flows, registered refugees). Rows marked *calibration* are "
        "those targets and their own sources or bounds; *input* rows are what the history is "
        f"built from. **Out of sample: {compared} held-out comparisons, {misses} misses.**",
    ]
    for result, figure in outside:
        lines.append(f"**The hindcast's {figure.year} misses a fitted target: {result.spec.label}** "
                     f"({_model_text(result, figure.year)} against the fitted "
                     f"{_fitted_text(figure)}): {figure.cause}")  # fmt: skip
    lines.append(SCORE_TEXT)
    return lines


def not_compared_rows(items: list[NotCompared]) -> tuple[list[str], list[list[str]]]:
    """Published figures the hindcast does not compare, and why."""
    return ["published figure", "source", "why not compared"], [
        [item.figure, item.source, item.why] for item in items
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
    """The report's numbers at full precision: one row per series and year, with unit and role."""
    rows = []
    for result in hindcast.series:
        published = {p.year: p for p in result.published}
        for year, estimate in sorted(result.model.items()):
            figure = published.get(year)
            fitted = figure.fitted if figure else None
            rows.append({
                "series": result.spec.key, "label": result.spec.label, "unit": result.spec.unit,
                "year": year, "column": result.spec.column,
                "aggregate": result.spec.aggregate, "model_mean": estimate.mean,
                "model_low": estimate.low, "model_high": estimate.high, "runs": estimate.runs,
                "published": figure.value if figure else math.nan,
                "published_low": figure.low if figure else math.nan,
                "published_high": figure.high if figure else math.nan,
                "role": figure.role if figure else "",
                "why": figure.why if figure else "",
                "fitted_target": fitted.name if fitted else "",
                "fitted_low": fitted.low if fitted else math.nan,
                "fitted_high": fitted.high if fitted else math.nan,
                "miss": bool(figure and is_miss(estimate, figure)),
                "outside_tolerance": bool(figure and outside_tolerance(result.spec, estimate,
                                                                       figure)),
                "cause": figure.cause if figure else "",
            })  # fmt: skip
    return pd.DataFrame(rows)


def runs_frame(hindcast: Hindcast) -> pd.DataFrame:
    """Every run's per-year values: draw, posterior row, replicate, seed, series, year, value."""
    rows_by_draw = {d.index: d.row for d in hindcast.draws}
    units = {spec.key: spec.unit for spec in (r.spec for r in hindcast.series)}
    return pd.DataFrame([
        {"draw": run.draw, "posterior_row": rows_by_draw[run.draw], "replicate": run.replicate,
         "seed": hindcast.seed + run.replicate, "series": key, "year": year, "value": value,
         "unit": units.get(key, "")}
        for run in hindcast.runs for key, years in run.values.items()
        for year, value in sorted(years.items())
    ])  # fmt: skip


def write_report(
    hindcast: Hindcast, out: Path, not_compared: list[NotCompared] | None = None
) -> list[Path]:
    """Write ``hindcast.md``, ``hindcast.html``, a PNG per series, ``hindcast.csv``, ``runs.csv``.

    Args:
        hindcast: The finished (or rebuilt) hindcast.
        out: The report folder.
        not_compared: Published figures the hindcast does not compare, with why (default: those
            of the shipped ``published.toml``).

    Raises:
        HindcastError: If a held-out miss has no written cause (:func:`check_causes`), after
            ``runs.csv`` is written: the runs, which took long to compute, are kept, and
            ``scripts/hindcast_report.py`` builds the report from them once the causes are written.
    """
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(
        out / "runs.csv", lambda path: plain_frame(runs_frame(hindcast)).to_csv(path, index=False)
    )
    check_causes(hindcast.series)
    skipped = load_not_compared() if not_compared is None else not_compared
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
    md += ["## Not compared", "", "Published figures the hindcast does not set against the model, "
           "and why.", "", markdown_table(*not_compared_rows(skipped)), ""]  # fmt: skip
    md += ["Files: `hindcast.csv` (these numbers at full precision, with label, unit and role), "
           "`runs.csv` (every run's per-year values, with unit), one PNG per series.", ""]  # fmt: skip
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
    parts += ["<h2>Not compared</h2>", table(*not_compared_rows(skipped))]
    parts.append("</body></html>")
    atomic_write(out / "hindcast.html", lambda path: path.write_text("\n".join(parts)))
    atomic_write(out / "hindcast.csv",
                 lambda path: plain_frame(numbers_frame(hindcast)).to_csv(path, index=False))  # fmt: skip
    return [out / "hindcast.md", out / "hindcast.html", out / "hindcast.csv", out / "runs.csv",
            *pngs]  # fmt: skip
