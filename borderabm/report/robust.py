"""The robust comparison as words, a terminal table, a chart and a report (HTML, Markdown, CSV).

Every reader — the command line, the report, the browser, the README's answer — takes its numbers
from one :class:`~borderabm.analysis.robust.RobustComparison`, and its sentences from
:func:`answer`, so they say the same thing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from rich.table import Table

from borderabm.analysis.robust import LOWER, RobustComparison
from borderabm.files import atomic_write
from borderabm.metrics import format_value, metric_info, metric_label
from borderabm.report import charts
from borderabm.report.format import (
    html_table,
    html_text,
    markdown_table,
    markdown_text,
    plain_frame,
)

ROBUST_WIDTH = 170
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse}\n"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px}"
    "td:first-child,th:first-child{text-align:left}"
)


def _row(robust: RobustComparison, policy: str, metric: str) -> pd.Series:
    table = robust.table
    return table[(table["scenario"] == policy) & (table["metric"] == metric)].iloc[0]


def _value(metric: str, value: float) -> str:
    """A metric's value with its unit for a sentence: "US$1.2bn", "312 attacks"."""
    text = format_value(metric, value)
    unit = metric_info(metric).unit
    return text if unit == "US$" or not unit else f"{text} {unit}"


def answer(robust: RobustComparison, policy: str, metric: str) -> str:
    """One sentence: how often ``policy`` beats the reference on ``metric``, its regret, the flip.

    E.g. "fence_full beats baseline on Attacks (fewer is better) in 62% of 50 plausible worlds ×
    2 seeds (mean regret 4.1 attacks, worst case 19 attacks); it loses when
    population.militants >= 700 (coverage 80%, density 75%)."
    """
    row = _row(robust, policy, metric)
    label = metric_info(metric).label
    direction = "fewer" if row["better"] == LOWER else "more"
    worlds = f"{robust.worlds} plausible worlds × {robust.seeds} seed" + (
        "s" if robust.seeds != 1 else ""
    )
    ties = f", ties in {row['share_ties']:.0%}" if row["share_ties"] > 0 else ""
    text = (
        f"{policy} beats {robust.reference} on {label} ({direction} is better) in "
        f"{row['share_beats']:.0%} of {worlds}{ties} (mean difference "
        f"{_signed(metric, row['diff'])}; "
        f"mean regret {_value(metric, row['regret_mean'])}, worst case "
        f"{_value(metric, row['regret_max'])})"
    )
    return text + "; " + flip_text(robust, policy, metric) + "."


def all_answers(robust: RobustComparison) -> list[str]:
    """:func:`answer` for every policy and every metric that has a direction."""
    return [answer(robust, p, m) for m in dict.fromkeys(robust.table["metric"])
            for p in robust.order[1:] if _row(robust, p, m)["better"]]  # fmt: skip


def flip_text(robust: RobustComparison, policy: str, metric: str) -> str:
    """Where the answer flips, in words (or that it never does, or that no region explains it)."""
    flips = robust.flips
    found = (
        flips[(flips["scenario"] == policy) & (flips["metric"] == metric)]
        if not flips.empty
        else flips
    )
    if found.empty:
        return "the ranking never flips"
    flip = found.iloc[0]
    outcome = f"it {flip['outcome']} in {flip['worlds']} of them"
    if flip["condition"]:
        return (f"{outcome}, concentrated where {flip['condition']} (PRIM box: coverage "
                f"{flip['coverage']:.0%}, density {flip['density']:.0%} against "
                f"{flip['share']:.0%} in all worlds)")  # fmt: skip
    return f"{outcome} ({flip['note']})"


def _signed(metric: str, value: float, unit: bool = True) -> str:
    """A difference with its sign (and its unit, for a sentence)."""
    if not np.isfinite(value):
        return "–"
    text = _value(metric, abs(value)) if unit else format_value(metric, abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def _share(value: float) -> str:
    return f"{value:.0%}" if np.isfinite(value) else "–"


def _cells(robust: RobustComparison, policy: str, metric: str) -> list[str]:
    """A policy's cells for one metric: level, difference, wins, regret."""
    row = _row(robust, policy, metric)
    level = (f"{format_value(metric, row['mean'])} [{format_value(metric, row['world_low'])} – "
             f"{format_value(metric, row['world_high'])}]")  # fmt: skip
    if policy == robust.reference:
        diff = "reference"
        beats = "–"
    else:
        mark = " ✱" if row["clear"] else ""
        diff = (f"{_signed(metric, row['diff'], False)} [{_signed(metric, row['diff_low'], False)}"
                f" – {_signed(metric, row['diff_high'], False)}]{mark}")  # fmt: skip
        beats = _share(row.get("share_beats", np.nan))
    if row["better"]:
        regret = (f"{format_value(metric, row['regret_mean'])} / "
                  f"{format_value(metric, row['regret_max'])}")  # fmt: skip
        best = _share(row["share_best"])
    else:
        regret = best = "–"
    return [level, diff, beats, best, regret]


HEADER = ["metric (better)", "policy", "mean [5–95% of worlds]", "Δ vs reference [95% CI]",
          "beats reference", "best of all", "regret mean / worst"]  # fmt: skip
NOTES = (
    "A world is one draw of the uncertain parameters; every policy runs on the same worlds and "
    "seeds. Level: mean over worlds and seeds [5th–95th percentile of the worlds' means]. Δ: mean "
    "paired difference against {reference} [95% Student-t interval over worlds]; ✱ = the interval "
    "excludes zero. Beats reference: share of worlds in which the policy's mean is better. Best of "
    "all: share of worlds in which it is the best policy compared. Regret: how far it falls short "
    "of the best policy in that world (metric's unit), mean over worlds / the worst world."
)


def scorecard_rows(robust: RobustComparison) -> list[list[str]]:
    """The scorecard's cells (text), one row per metric and policy, under :data:`HEADER`."""
    rows = []
    for metric in dict.fromkeys(robust.table["metric"]):
        better = _row(robust, robust.reference, metric)["better"]
        head = f"{metric_label(metric)} ({better or 'no direction'})"
        for policy in robust.order:
            rows.append([head if policy == robust.reference else "", policy,
                         *_cells(robust, policy, metric)])  # fmt: skip
    return rows


def robust_terminal_table(robust: RobustComparison) -> Table:
    """The robust comparison for the terminal."""
    out = Table(title=(
        f"{' vs '.join(robust.order)} across {robust.worlds} plausible worlds × {robust.seeds} "
        f"seeds (draws from {robust.source or 'the uncertainty file'})"
    ))  # fmt: skip
    for index, heading in enumerate(HEADER):
        out.add_column(heading, justify="left" if index < 2 else "right")
    for row in scorecard_rows(robust):
        out.add_row(*row)
    return out


def share_chart(robust: RobustComparison, out: Path) -> Path:
    """Share of worlds in which each policy beats the reference, per metric (bars), as a PNG."""
    return charts.save(share_figure(robust), out)


def share_png(robust: RobustComparison) -> bytes:
    """:func:`share_chart` as PNG bytes (for the browser)."""
    return charts.png_bytes(share_figure(robust))


def share_figure(robust: RobustComparison) -> Figure:
    """The figure of :func:`share_chart`."""
    table = robust.table.dropna(subset=["share_beats"])
    metrics = list(dict.fromkeys(table["metric"]))
    policies = [p for p in robust.order[1:] if p in set(table["scenario"])]
    figure, axes = charts.new_figure(9, 0.45 * max(len(metrics), 1) * max(len(policies), 1) + 1.5)
    ax = axes[0, 0]
    height = 0.8 / max(len(policies), 1)
    y = np.arange(len(metrics))
    for index, policy in enumerate(policies):
        shares = [float(table[(table["scenario"] == policy) & (table["metric"] == m)]
                        ["share_beats"].iloc[0]) for m in metrics]  # fmt: skip
        ax.barh(y + index * height, shares, height, label=policy,
                color=charts.SERIES[(index + 1) % len(charts.SERIES)])  # fmt: skip
    ax.axvline(0.5, color=charts.INK, linewidth=0.8, linestyle="--")
    ax.set_yticks(y + height * (len(policies) - 1) / 2, [metric_label(m) for m in metrics])
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    charts.style_axes(ax, grid="x")
    ax.set_xlabel(f"share of plausible worlds in which it beats {robust.reference}")
    charts.legend(ax, loc="lower right")
    charts.title(figure, f"Beating {robust.reference} across {robust.worlds} worlds × "
                         f"{robust.seeds} seeds")  # fmt: skip
    return figure


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    plain_frame(frame).to_csv(path, index=False)


HEAD_TO_HEAD = (
    "Share of plausible worlds in which the first policy of a pair is better than the second "
    "(ties in brackets when there are any)."
)


def head_to_head_rows(robust: RobustComparison) -> tuple[list[str], list[list[str]]]:
    """The head-to-head table: one row per metric, one column per pair of non-reference policies."""
    table = robust.head_to_head_table()
    if table.empty:
        return ["metric"], []
    pairs = list(dict.fromkeys(zip(table["policy"], table["other"], strict=True)))
    header = ["metric", *[f"{a} beats {b}" for a, b in pairs]]
    rows = []
    for metric, group in table.groupby("metric", sort=False):
        cells = [metric_label(str(metric))]
        for a, b in pairs:
            row = group[(group["policy"] == a) & (group["other"] == b)].iloc[0]
            tie = f" ({row['share_ties']:.0%} ties)" if row["share_ties"] > 0 else ""
            cells.append(f"{row['share_beats']:.0%}{tie}")
        rows.append(cells)
    return header, rows


def write_robust_report(robust: RobustComparison, folder: Path) -> list[Path]:
    """Write ``robust.html``, ``robust.md``, the chart and the tables as CSV into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    chart = share_chart(robust, folder / "robust_share.png")
    tables = {"robust_table.csv": robust.table, "robust_flips.csv": robust.flips,
              "robust_worlds.csv": robust.world_values,
              "robust_head_to_head.csv": robust.head_to_head_table()}  # fmt: skip
    written = []
    for name, frame in tables.items():
        written.append(atomic_write(folder / name, partial(_write_csv, frame)))
    title = f"Robust comparison: {' vs '.join(robust.order)}"
    notes = NOTES.format(reference=robust.reference)
    setup = (f"{robust.worlds} plausible worlds (parameter draws from {robust.source}) × "
             f"{robust.seeds} seeds per policy; uncertain parameters: "
             f"{', '.join(robust.parameters)}.")  # fmt: skip
    answers = all_answers(robust)
    rows = scorecard_rows(robust)
    pairs_header, pairs = head_to_head_rows(robust)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html_text(title)}</title><style>{STYLE}</style></head>
<body><h1>{html_text(title)}</h1><p>{html_text(setup)}</p>
<h2>In words</h2><ul>{"".join(f"<li>{html_text(a)}</li>" for a in answers)}</ul>
<h2>Scorecard</h2><p>{html_text(notes)}</p>
{html_table([html_text(h) for h in HEADER], [[html_text(c) for c in r] for r in rows])}
<p><img src="{chart.name}" alt="share of worlds" style="max-width:100%"></p>
<h2>Head to head</h2><p>{html_text(HEAD_TO_HEAD)}</p>
{html_table([html_text(h) for h in pairs_header], [[html_text(c) for c in r] for r in pairs])}
</body></html>
"""
    index = folder / "robust.html"
    atomic_write(index, lambda target: target.write_text(page))
    # Every piece holds policy names or the draws' file name (user text): escaped for Markdown.
    md = markdown_text
    markdown = "\n".join([f"# {md(title)}", "", md(setup), "", "## In words", "",
                          *[f"- {md(a)}" for a in answers], "", "## Scorecard", "", md(notes), "",
                          markdown_table(HEADER, [[md(c) for c in r] for r in rows]), "",
                          f"![share of worlds]({chart.name})", "", "## Head to head", "",
                          HEAD_TO_HEAD, "", markdown_table([md(h) for h in pairs_header],
                                                           [[md(c) for c in r] for r in pairs]),
                          ""])  # fmt: skip
    report = folder / "robust.md"
    atomic_write(report, lambda target: target.write_text(markdown))
    return [index, report, chart, *written]
