"""The validation report: a console table and a one-page Markdown and HTML report.

The page states every fact in words with its source, the effect sizes and verdicts, the replicate
count and seeds, and the model version and git revision that produced them.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from borderabm.analysis.validation.facts import MECHANISM_CHECK, STYLIZED_FACT
from borderabm.analysis.validation.stats import ALPHA
from borderabm.analysis.validation.suite import FactResult, ValidationRun
from borderabm.files import atomic_write
from borderabm.metrics import format_values
from borderabm.report.format import (
    Align,
    html_table,
    html_text,
    markdown_table,
    p_value,
)

MARKDOWN_NAME = "validation.md"
HTML_NAME = "validation.html"
LEFT_COLUMNS = ("fact", "kind")
ARROWS = {"increase": "↑ increase", "decrease": "↓ decrease"}
METHOD = (
    "Each fact is a paired experiment: replicate *k* of the control and of the treatment run on "
    "the same seed (common random numbers; each agent kind has its own random stream), so the "
    "comparison is made on the same luck. The test is a one-sided Wilcoxon signed-rank test of "
    "the paired differences (treatment − control) in the expected direction at 95% confidence "
    f"(α = {ALPHA}); a fact passes when p < α and the mean difference has the expected sign. "
    "Wilcoxon rather than a paired t-test because the metrics are yearly counts of rare events "
    "and sums of skewed trade values whose differences need not be normal, and because CI runs "
    "the suite on few replicates, where normality cannot be checked; the signed-rank test only "
    "assumes that, without an effect, the differences are symmetric about zero (exact for up to "
    "50 pairs without ties; zero differences are dropped). The effect is the mean paired "
    "difference with its Student-t 95% interval; the relative change is that mean over the "
    "control's mean (n/a when the control's mean is 0)."
)
PUBLISHED = (
    " Published: a measured estimate of the effect's size in the world (relative change), shown "
    "beside the model's relative change; it is reported, not tested."
)
KINDS = (
    "A *stylized fact* is a claim about the world the model could get wrong: the lever reaches "
    "the metric through agents' choices that could offset it. A *mechanism check* holds largely "
    "by construction (it tests that a rule works as configured); it must pass, but it is not "
    "evidence that the model reproduces the world, so it is counted apart."
)


def verdict(result: FactResult) -> str:
    """PASS / FAIL, or how a known failure came out."""
    if result.fact.known_failure is not None:
        return "known failure: passes now" if result.passed else "known failure"
    return "PASS" if result.passed else "FAIL"


def effect_text(result: FactResult) -> str:
    """The mean paired difference with its 95% interval."""
    e = result.effect
    # One precision for the three, as every estimate with its interval (the comparison's too).
    mean, low, high = format_values("", [e.diff_mean, e.diff_low, e.diff_high], signed=True)
    return f"{mean} [{low}, {high}]"


def relative_text(result: FactResult) -> str:
    """The relative change, as a signed percentage."""
    relative = result.effect.relative_change
    return "n/a" if relative is None else f"{relative:+.1%}"


def published_text(result: FactResult) -> str:
    """A published estimate of the effect, as a signed percentage, or empty."""
    published = result.fact.published
    return "" if published is None else f"{published.relative_change:+.0%}"


def size_text(result: FactResult) -> str:
    """The model's relative change with its interval, beside the published estimate."""
    published = result.fact.published
    if published is None:
        return ""
    interval = result.relative_interval
    if interval is None:
        model = "n/a (the control's mean is 0)"
    else:
        model = f"{result.effect.relative_change:+.1%} (95% interval {interval[0]:+.1%} to "
        model += f"{interval[1]:+.1%})"
    return (
        f"the model's relative change {model}, against {published.describe()}; "
        "the verdict is on the direction"
    )


def _published_note(run: ValidationRun) -> str:
    """What the "published" column means, if the table has one."""
    return PUBLISHED if any(r.fact.published is not None for r in run.results) else ""


def table_rows(run: ValidationRun) -> list[dict[str, str]]:
    """One row of text per fact, for the console and the report.

    A "published" column (the published estimate beside the model's relative change) appears
    when a fact in the run has one.
    """
    with_published = any(r.fact.published is not None for r in run.results)
    rows = []
    for number, result in enumerate(run.results, start=1):
        e = result.effect
        control, treatment = format_values("", [e.control_mean, e.treatment_mean])
        row = {
            "#": str(number),
            "fact": result.fact.id,
            "kind": result.fact.kind,
            "expected": ARROWS[result.fact.expected],
            "control": control,
            "treatment": treatment,
            "effect [95% CI]": effect_text(result),
            "relative": relative_text(result),
        }
        if with_published:
            row["published"] = published_text(result)
        row["p"] = p_value(e.p_value)
        row["result"] = verdict(result)
        rows.append(row)
    return rows


def headline(run: ValidationRun) -> str:
    """One line: how many stylized facts and mechanism checks pass, and the known failures."""
    parts = []
    kinds = ((STYLIZED_FACT, run.stylized_results), (MECHANISM_CHECK, run.mechanism_results))
    for kind, results in kinds:
        if results:
            passed = sum(r.passed for r in results)
            parts.append(f"{passed} of {len(results)} {kind}s pass")
    known = len(run.results) - len(run.expected_results)
    if known:
        parts.append(f"{known} known failure{'s' if known > 1 else ''} (reported, not counted)")
    return "; ".join(parts)


def _horizons(run: ValidationRun) -> str:
    days = sorted({r.days for r in run.results})
    text = ", ".join(f"{d}" for d in days) + " days"
    return text + (" (per fact, below)" if len(days) > 1 else "")


def _time(stamp: str) -> str:
    """An ISO 8601 UTC stamp as ``2025-11-23 08:44:55``."""
    return stamp.replace("T", " ").removesuffix("+00:00")


def _revision(run: ValidationRun) -> str:
    env = run.environment
    revision = env.get("git_revision") or "unknown"
    state = env.get("git_state")
    return f"{revision[:12]}" + (f" ({state})" if state else "")


def _context_lines(run: ValidationRun) -> list[tuple[str, str]]:
    env = run.environment
    seeds = run.seeds
    return [
        (
            "Model",
            f"borderabm {env.get('borderabm', '?')}, git revision {_revision(run)}, model code "
            f"sha256 {env.get('model_code_sha256', '?')[:16]} (kept runs are reused only by "
            "the same code)",
        ),
        (
            "Software",
            f"Python {env.get('python', '?')}, Mesa {env.get('mesa', '?')}, "
            f"numpy {env.get('numpy', '?')}, pandas {env.get('pandas', '?')}",
        ),
        (
            "Replicates",
            f"{run.replicates} paired replicates per fact, seeds {seeds[0]}–{seeds[-1]} "
            "(replicate k of control and treatment share a seed)",
        ),
        ("Horizon", _horizons(run)),
        (
            "Run",
            f"{_time(run.started)} – {_time(run.finished)} UTC, {run.seconds:,.0f} s on "
            f"{run.workers} "
            f"worker{'s' if run.workers > 1 else ''}; {run.runs_total} runs "
            f"({run.runs_executed} executed, {run.runs_total - run.runs_executed} reused)",
        ),
    ]


def _bonferroni_line(run: ValidationRun) -> str:
    expected = run.expected_results
    if not expected:
        return ""
    threshold = ALPHA / len(expected)
    strict = sum(r.effect.p_value < threshold and r.effect.direction_ok for r in expected)
    return (
        f"Each fact is its own directional claim, so each is tested at α = {ALPHA}. With a "
        f"Bonferroni correction for the {len(expected)} facts (α = {threshold:.2g}), {strict} "
        f"of {len(expected)} would still pass."
    )


def _command(run: ValidationRun) -> str:
    return (
        f"borderabm validate-model --replicates {run.replicates} --seed {run.seeds[0]} "
        "--workers 1 --out DIR"
    )


# Markdown -----------------------------------------------------------------------------------------
OUT_OF_SAMPLE = (
    "The hindcast (`borderabm hindcast`, report in `docs/hindcast/`) replays the border's dated "
    "history 2014–2025 over posterior draws of the 2024 calibration. Only rows whose role is "
    "*held out* are scored: calibration rows (the 2024 targets, and the targets' own sources or "
    "bounds: Torkham people 2019 and 2025, Torkham trucks 2019 and 2022, trade FY2025, refugees "
    "2025) and input rows (the fence, whose schedule is the published figures) are listed apart. "
    "Error score: mean over the held-out years of |ln(model mean / published)| (0 = exact, "
    "0.69 = a factor of two). Inside: share of held-out years whose model mean lies in the "
    "published spread. Misses: held-out years whose model MEAN lies more than a factor 1.25 "
    "outside the published spread; each has its cause in the hindcast report."
)
OUT_OF_SAMPLE_HEADER = ["series", "unit", "held-out years", "error score", "inside spread",
                        "misses", "calibration rows (not scored)", "input rows (not scored)",
                        "model ÷ published, 2024 (calibration)",
                        "2024 outside the fitted tolerance"]  # fmt: skip
OUT_OF_SAMPLE_ALIGN: list[Align] = ["left", "left", "right", "right", "right", "right", "right",
                                   "right", "right", "right"]  # fmt: skip


def out_of_sample_rows(summary: pd.DataFrame) -> list[list[str]]:
    """The out-of-sample table: one row per hindcast series (:func:`held_out_summary`)."""

    def number(value: float, form: str) -> str:
        return format(value, form) if math.isfinite(value) else "n/a"

    def misses(row: Any) -> str:
        return f"{row.miss_count}: {row.misses}" if row.miss_count else "0"

    return [[str(row.label), str(row.unit), str(row.years), number(row.score, ".2f"),
             number(row.inside, ".0%"), misses(row), row.calibration_rows or "—",
             row.input_rows or "—", number(row.calibration_ratio, ".2f"),
             row.outside_tolerance or "—"]
            for row in summary.itertuples()]  # fmt: skip


def out_of_sample_markdown(summary: pd.DataFrame) -> list[str]:
    """The out-of-sample section's Markdown lines (heading, text, table)."""
    return ["## Out of sample: the hindcast 2014–2025", "", OUT_OF_SAMPLE, "",
            markdown_table(OUT_OF_SAMPLE_HEADER, out_of_sample_rows(summary),
                           OUT_OF_SAMPLE_ALIGN)]  # fmt: skip


def out_of_sample_html(summary: pd.DataFrame) -> list[str]:
    """The out-of-sample section's HTML parts (heading, text, table)."""
    columns = len(OUT_OF_SAMPLE_HEADER)
    return ["<h2>Out of sample: the hindcast 2014–2025</h2>",
            f'<p class="small">{html_text(OUT_OF_SAMPLE).replace("`", "")}</p>',
            html_table([html_text(h) for h in OUT_OF_SAMPLE_HEADER],
                       [[html_text(c) for c in row] for row in out_of_sample_rows(summary)],
                       classes=[["fact"] + [""] * (columns - 1)] * len(summary),
                       header_classes=["fact"] + [""] * (columns - 1))]  # fmt: skip


def markdown(run: ValidationRun, out_of_sample: pd.DataFrame | None = None) -> str:
    """The report as Markdown (with the hindcast's held-out years, when given)."""
    lines = ["# borderabm validation: stylized facts", "", f"**{headline(run)}.**", ""]
    lines += [f"- **{label}:** {value}" for label, value in _context_lines(run)]
    lines += ["", "## Results", ""]
    rows = table_rows(run)
    header = list(rows[0]) if rows else []
    align: list[Align] = ["left" if h in LEFT_COLUMNS else "right" for h in header]
    lines.append(markdown_table(header, [list(row.values()) for row in rows], align))
    lines += [
        "",
        "Control and treatment: means over the replicates. Effect: mean paired difference "
        "(treatment − control) with its 95% interval. p: one-sided Wilcoxon signed-rank test."
        + _published_note(run),
        "",
        KINDS,
        "",
        "## The facts",
        "",
    ]
    for number, result in enumerate(run.results, start=1):
        fact = result.fact
        source = fact.source
        quote = f': "{source.quote}"' if source.quote else ""
        note = f" {source.note}" if source.note else ""
        lines += [
            f"{number}. **{fact.id}** ({fact.kind}) — {fact.statement}",
            f"   - *Source:* {source.citation}{quote}.{note}",
            f"   - *Control:* {fact.control.describe()}. *Treatment:* {fact.treatment.describe()}.",
            f"   - *Metric:* {fact.metric.describe()}; expected to {fact.expected}; "
            f"{result.days} days.",
        ]
        if fact.published:
            lines.append(f"   - *Size against the published estimate:* {size_text(result)}.")
        if fact.mechanism:
            lines.append(f"   - *Why it holds by construction:* {fact.mechanism}")
        if fact.known_failure:
            lines.append(f"   - *Known failure:* {fact.known_failure}")
    if out_of_sample is not None:
        lines += ["", *out_of_sample_markdown(out_of_sample)]
    lines += ["", "## Method", "", METHOD, "", _bonferroni_line(run), ""]
    lines += ["## Reproduce", "", "```bash", _command(run), "```", ""]
    return "\n".join(lines)


# HTML -----------------------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222;
       line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; width: 100%; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: right; }
th { background: #f5f5f5; }
td.fact, th.fact { text-align: left; font-family: ui-monospace, monospace; }
.PASS { color: #17692b; font-weight: 600; }
.FAIL { color: #b3261e; font-weight: 600; }
.known { color: #8a5a00; }
.headline { font-size: 1.1em; font-weight: 600; }
.context { font-size: 0.9em; color: #444; }
ol li { margin-bottom: 0.6em; }
.small { font-size: 0.9em; color: #444; }
code, pre { font-family: ui-monospace, monospace; background: #f5f5f5; padding: 0 3px; }
"""


def html_page(run: ValidationRun, out_of_sample: pd.DataFrame | None = None) -> str:
    """The report as one self-contained HTML page (with the hindcast's held-out years)."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>borderabm validation: stylized facts</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>borderabm validation: stylized facts</h1>",
        f'<p class="headline">{html_text(headline(run))}.</p>',
        '<ul class="context">',
    ]
    parts += [
        f"<li><b>{html_text(label)}:</b> {html_text(value)}</li>"
        for label, value in _context_lines(run)
    ]
    parts += ["</ul>", "<h2>Results</h2>"]
    rows = table_rows(run)
    header = list(rows[0]) if rows else []
    cells, classes = [], []
    for row in rows:
        outcome = row["result"]
        verdict_class = "known" if outcome.startswith("known") else outcome
        cells.append([html_text(row[h]) for h in header])
        classes.append(["fact" if h in LEFT_COLUMNS else (verdict_class if h == "result" else "")
                        for h in header])  # fmt: skip
    header_classes = ["fact" if h in LEFT_COLUMNS else "" for h in header]
    parts.append(html_table([html_text(h) for h in header], cells, classes=classes,
                            header_classes=header_classes))  # fmt: skip
    parts += [
        '<p class="small">Control and treatment: means over the replicates. Effect: mean paired '
        "difference (treatment − control) with its 95% interval. p: one-sided Wilcoxon "
        f"signed-rank test.{html_text(_published_note(run))}</p>",
        f'<p class="small">{
            html_text(KINDS)
            .replace("*stylized fact*", "<i>stylized fact</i>")
            .replace("*mechanism check*", "<i>mechanism check</i>")
        }</p>',
        "<h2>The facts</h2>",
        "<ol>",
    ]
    for result in run.results:
        fact = result.fact
        source = fact.source
        quote = f": “{html_text(source.quote)}”" if source.quote else ""
        note = f" {html_text(source.note)}" if source.note else ""
        known = (
            f'<br><span class="known"><i>Known failure:</i> {html_text(fact.known_failure)}</span>'
            if fact.known_failure
            else ""
        )
        mechanism = (
            f"<br><i>Why it holds by construction:</i> {html_text(fact.mechanism)}"
            if fact.mechanism
            else ""
        )
        size = (
            f"<br><i>Size against the published estimate:</i> {html_text(size_text(result))}."
            if fact.published
            else ""
        )
        parts.append(
            f"<li><code>{html_text(fact.id)}</code> ({html_text(fact.kind)}) — "
            f"{html_text(fact.statement)}<br>"
            f'<span class="small"><i>Source:</i> {html_text(source.citation)}{quote}.{note}<br>'
            f"<i>Control:</i> {html_text(fact.control.describe())}. "
            f"<i>Treatment:</i> {html_text(fact.treatment.describe())}.<br>"
            f"<i>Metric:</i> {html_text(fact.metric.describe().replace('`', ''))}; expected to "
            f"{html_text(fact.expected)}; {result.days} days.{size}{mechanism}</span>{known}</li>"
        )
    parts.append("</ol>")
    if out_of_sample is not None:
        parts += out_of_sample_html(out_of_sample)
    parts += [
        "<h2>Method</h2>",
        f"<p>{html_text(METHOD).replace('*k*', '<i>k</i>')}</p>",
        f"<p>{html_text(_bonferroni_line(run))}</p>",
        "<h2>Reproduce</h2>",
        f"<pre>{html_text(_command(run))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_reports(
    run: ValidationRun, out: Path, out_of_sample: pd.DataFrame | None = None
) -> list[Path]:
    """Write ``validation.md`` and ``validation.html`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    pages = ((MARKDOWN_NAME, markdown(run, out_of_sample)),
             (HTML_NAME, html_page(run, out_of_sample)))  # fmt: skip
    for name, text in pages:
        path = out / name
        atomic_write(path, partial(Path.write_text, data=text, encoding="utf-8"))
        written.append(path)
    return written


# Console ----------------------------------------------------------------------------------------
def print_results(run: ValidationRun, console: Console) -> None:
    """The results table (one row per fact) and the headline."""
    rows = table_rows(run)
    seeds = run.seeds
    table = Table(
        title=f"Stylized facts and mechanism checks — {run.replicates} paired replicates "
        f"(seeds {seeds[0]}–{seeds[-1]}), one-sided Wilcoxon signed-rank test at 95%"
    )
    styles = {"PASS": "green", "FAIL": "bold red"}
    for column in rows[0] if rows else []:
        table.add_column(
            column, justify="left" if column in ("fact", "kind", "result") else "right"
        )
    for row in rows:
        style = styles.get(row["result"], "yellow")
        cells = list(row.values())
        cells[-1] = f"[{style}]{row['result']}[/]"
        table.add_row(*cells)
    # Room for every column even when the output goes to a log.
    Console(width=max(console.width, 170), file=console.file).print(table)
    console.print(headline(run))
