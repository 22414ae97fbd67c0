"""The discovery report: the boxes on the console, and boxes.csv, trajectory.csv/.png, discovery.md.

Every box is shown with its coverage, density and mass, and each restricted parameter with its
limits (a dash where open), their quasi-p values and the design's range.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal, cast

import numpy as np
from matplotlib.ticker import MaxNLocator
from rich.console import Console
from rich.table import Table
from rich.text import Text

from borderabm.analysis.discovery import Cases, Discovery
from borderabm.analysis.prim import (
    Box,
    PrimResult,
    boxes_table,
    open_sides,
    reported_limits,
    trajectory_table,
)
from borderabm.files import atomic_write
from borderabm.report import charts
from borderabm.report.format import (
    Align,
    markdown_code,
    markdown_table,
    markdown_text,
    p_value,
    plain_frame,
)

BOXES_CSV = "boxes.csv"
TRAJECTORY_CSV = "trajectory.csv"
REPORT_MD = "discovery.md"
TRAJECTORY_PNG = "trajectory.png"
LIMIT_COLUMNS = ("parameter", "box low", "quasi-p low", "box high", "quasi-p high", "design range")
LIMIT_ALIGN: tuple[Align, ...] = ("left", "right", "right", "right", "right", "right")
ColorSystemName = Literal["standard", "256", "truecolor", "windows"]


def print_discovery(discovery: Discovery, console: Console) -> None:
    """Print the question, the base rate and every box with its limits and numbers."""
    cases, result = discovery.cases, discovery.result
    unit = "design points" if cases.unit == "point" else "runs"
    k, n = int(result.y.sum()), len(result.y)
    # Room for the dotted keys and five numbers even when the output goes to a pipe or log; the
    # caller's console class, so user text is shown as its console shows it (plain).
    # rich's color_system property names one of the systems its constructor accepts.
    color_system = cast(ColorSystemName | None, console.color_system)
    wide = type(console)(file=console.file, width=max(console.width, 120), highlight=False,
                   color_system=color_system, force_terminal=console.is_terminal)  # fmt: skip
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
        console.print("\n" + _no_more_boxes(discovery), soft_wrap=True)


def _no_more_boxes(discovery: Discovery) -> str:
    result = discovery.result
    wanted = result.settings["max_boxes"]
    return f"No box {len(result.boxes) + 1} (of {wanted} asked): {_why_no_more_boxes(discovery)}."


def _why_no_more_boxes(discovery: Discovery) -> str:
    result = discovery.result
    left, of_interest = discovery.left_over()
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
    lows, highs = open_sides(step, result)
    open_low, open_high = lows[j], highs[j]
    lower, upper = reported_limits(step, result.names, cases.integers)
    number = "{:.0f}" if name in cases.integers else "{:.4g}"  # 1250 units, not 1.25e+03
    return [
        name,
        "—" if open_low else number.format(lower[j]),
        "—" if open_low else p_value(p_low),
        "—" if open_high else number.format(upper[j]),
        "—" if open_high else p_value(p_high),
        f"{low:.4g} – {high:.4g}",
    ]


def write_outputs(discovery: Discovery, out: Path) -> list[Path]:
    """Write ``boxes.csv``, ``trajectory.csv``, ``discovery.md`` and ``trajectory.png`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    boxes = boxes_table(discovery.result, discovery.cases.ranges, discovery.cases.integers)
    trajectory = trajectory_table(discovery.result)
    written = []
    for name, table in ((BOXES_CSV, boxes), (TRAJECTORY_CSV, trajectory)):
        atomic_write(out / name, partial(plain_frame(table).to_csv, index=False))
        written.append(out / name)
    written.append(trajectory_chart(discovery, out / TRAJECTORY_PNG))
    text = markdown_report(discovery)
    atomic_write(out / REPORT_MD, lambda p: p.write_text(text))
    written.append(out / REPORT_MD)
    return written


def trajectory_chart(discovery: Discovery, out: Path) -> Path:
    """Coverage against density along each box's trajectory, the chosen box marked with a star.

    Points are coloured by the number of restricted parameters; pasting steps are squares, opened
    limits diamonds.
    """
    result = discovery.result
    panels = len(result.boxes)
    figure, grid = charts.new_figure(5.6 * panels + 0.8, 4.6, 1, panels)
    axes = grid[0]
    most = max(len(s.restricted) for b in result.boxes for s in b.trajectory)
    scatter = None
    for ax, box in zip(axes, result.boxes, strict=True):
        coverage = np.array([s.coverage for s in box.trajectory])
        density = np.array([s.density for s in box.trajectory])
        restricted = np.array([len(s.restricted) for s in box.trajectory])
        phases = np.array([s.phase for s in box.trajectory])
        peeled = np.isin(phases, ("start", "peel"))
        ax.plot(coverage[peeled], density[peeled], color=charts.MUTED, linewidth=0.8, zorder=1)
        scatter = ax.scatter(coverage[peeled], density[peeled], c=restricted[peeled],
                             cmap=charts.SEQUENTIAL, vmin=0, vmax=max(most, 1), s=28, zorder=2,
                             label="peeling")  # fmt: skip
        for phase, marker, label in (("paste", "s", "pasting"), ("open", "D", "opening limits")):
            shown = phases == phase
            if shown.any():
                ax.scatter(coverage[shown], density[shown], c=restricted[shown],
                           cmap=charts.SEQUENTIAL, vmin=0, vmax=max(most, 1), marker=marker, s=34,
                           zorder=2, edgecolor=charts.INK, linewidth=0.5, label=label)  # fmt: skip
        step = box.step
        ax.scatter([step.coverage], [step.density], marker="*", s=320, facecolor="none",
                   edgecolor=charts.ACCENT, linewidth=1.6, zorder=3,
                   label=f"chosen: {len(step.restricted)} restricted")  # fmt: skip
        ax.annotate(f"box {box.number}\ncov {step.coverage:.2f}, dens {step.density:.2f}",
                    (step.coverage, step.density), textcoords="offset points", xytext=(8, -26),
                    fontsize=8, color=charts.ACCENT)  # fmt: skip
        base = box.remaining_of_interest / box.remaining_cases
        ax.axhline(base, color=charts.MUTED, linestyle=":", linewidth=0.9,
                   label=f"base rate {base:.2f}")  # fmt: skip
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("coverage (share of all cases of interest in the box)")
        ax.set_ylabel("density (share of the box's cases of interest)")
        charts.style_axes(ax, f"box {box.number}: peeling trajectory")
        charts.legend(ax, loc="lower left")
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=list(axes), label="restricted parameters", shrink=0.85)
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    charts.title(figure, f"{discovery.cases.sweep}: {discovery.condition}")
    return charts.save(figure, out)


def markdown_report(discovery: Discovery) -> str:
    """The discovery as Markdown: question, data, settings, boxes and how to read them."""
    cases, result = discovery.cases, discovery.result
    unit = "design points" if cases.unit == "point" else "runs"
    settings = result.settings
    lines = [
        f"# Scenario discovery: {markdown_text(cases.sweep)}",
        "",
        f"**Cases of interest:** {markdown_code(discovery.condition)}.",
        "",
        f"- Cases: {len(result.y)} {unit}{_replicates_text(cases)} of scenario {markdown_code(cases.scenario)}"
        + (
            f", paired with {markdown_code(cases.reference)} on the same design point and seed"
            if cases.reference
            else ""
        )  # fmt: skip
        + ".",
        f"- Of interest: {int(result.y.sum())} (base rate {result.base_rate:.3f}).",
        f"- PRIM: peel alpha {settings['peel_alpha']:g}, paste alpha {settings['paste_alpha']:g} "
        f"(pasting {'on' if settings['paste'] else 'off'}), minimum mass {settings['min_mass']:g}, "
        f"objective {settings['objective']}, up to {settings['max_boxes']} box(es).",
    ]
    lines += [f"- Note: {markdown_text(note)}." for note in cases.notes]
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
        rows = []
        for name in step.restricted:
            cells = _limit_cells(name, box, result, cases)
            rows.append([f"`{cells[0]}`", *cells[1:]])
        lines += [markdown_table(LIMIT_COLUMNS, rows, LIMIT_ALIGN), ""]
    if len(result.boxes) < settings["max_boxes"]:
        lines += [_no_more_boxes(discovery), ""]
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
        f"- Tables: `{BOXES_CSV}` (limits of every parameter per box; an open limit is empty, "
        f"with `open_low`/`open_high` true), `{TRAJECTORY_CSV}` "
        "(every step of the trajectories).",
        "",
    ]
    return "\n".join(lines)
