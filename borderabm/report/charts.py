"""One chart style for every report, drawn with matplotlib's object-oriented API.

A chart is a :class:`~matplotlib.figure.Figure` with its own Agg canvas
(:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`). Nothing global is touched: no
``pyplot`` (whose figure registry is shared by every thread) and no ``matplotlib.use`` (which would
switch the backend of whoever imports a report). Two threads can therefore draw at once (the
browser's comparison page does), and a notebook importing a report keeps its own backend.

The style: constrained layout; panel titles at :data:`TITLE_SIZE`, the figure's title at
:data:`SUPTITLE_SIZE`, legends at :data:`LEGEND_SIZE`; light grids behind the data; one colour per
scenario from :data:`SERIES` and the named colours below for everything else; PNGs at :data:`DPI`,
written atomically.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter

from borderabm.files import atomic_write
from borderabm.report.format import one_line

DPI = 110
TITLE_SIZE = 10
SUPTITLE_SIZE = 12
LEGEND_SIZE = 8
NOTE_SIZE = 9
GRID_ALPHA = 0.3

# One colour per scenario (or box, or sector), in order: matplotlib's "tab10".
SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf")  # fmt: skip
PRIMARY = "#3b75af"  # the quantity the chart is about (μ*, the posterior, S1)
ACCENT = "#c0504d"  # what is singled out (the fitted value, the chosen box, ST)
INK = "#333333"  # error bars, edges, reference lines
MUTED = "#777777"  # context: base rates, trajectories, notes
LIGHT = "#cccccc"  # the background quantity (the prior)
WITHIN = "#d9ead3"  # an acceptable range (a tolerance)
SEQUENTIAL = "viridis"  # ordered quantities (restricted parameters)


def new_figure(
    width: float, height: float, rows: int = 1, columns: int = 1, **subplots
) -> tuple[Figure, np.ndarray]:
    """A figure in the house style, with a ``rows`` x ``columns`` array of axes.

    Args:
        width: Width in inches.
        height: Height in inches.
        rows: Rows of panels.
        columns: Columns of panels.
        **subplots: Passed to :meth:`~matplotlib.figure.Figure.subplots` (e.g. ``sharex``).

    Returns:
        The figure and a 2-d array of its axes (always 2-d, even for one panel).
    """
    figure = empty_figure(width, height)
    return figure, figure.subplots(rows, columns, squeeze=False, **subplots)


def empty_figure(width: float, height: float) -> Figure:
    """A figure in the house style without axes (for layouts of uneven panels)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def style_axes(
    ax: Axes, title: str | None = None, grid: Literal["x", "y", "both"] | None = "both"
) -> None:
    """Panel title and a light grid behind the data (``grid`` is "x", "y", "both" or None)."""
    if title is not None:
        ax.set_title(title, fontsize=TITLE_SIZE)
    if grid is not None:
        ax.grid(axis=grid, alpha=GRID_ALPHA)
        ax.set_axisbelow(True)


def legend(ax: Axes, **options) -> None:
    """The house legend (small type); ``options`` go to :meth:`~matplotlib.axes.Axes.legend`."""
    ax.legend(fontsize=LEGEND_SIZE, **options)


def title(figure: Figure, text: str) -> None:
    """The figure's title."""
    figure.suptitle(text, fontsize=SUPTITLE_SIZE)


def empty_panel_note(ax: Axes, text: str) -> None:
    """A note in the middle of a panel that has nothing to show."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=NOTE_SIZE,
            color=MUTED)  # fmt: skip


def chart_text(text: str) -> str:
    r"""A label as plain text: control characters shown (``\x1b``), dollar signs not math.

    A scenario name with an escape byte has no glyph in any font (matplotlib warns), and two
    dollar signs would be read as mathtext (a bad formula stops the drawing). Already escaped
    dollars are left alone, so the label can be made plain twice.
    """
    return re.sub(r"(?<!\\)\$", r"\\$", one_line(text))


def plain_labels(figure: Figure) -> None:
    """Make every label of the figure plain text (:func:`chart_text`), wherever it came from.

    Titles, legends, axis labels and notes are text objects already; fixed tick labels (sector
    or parameter names) are made again from their formatter when drawn, so it is changed too.
    """
    for text in figure.findobj(Text):
        shown = text.get_text()
        if shown and chart_text(shown) != shown:
            text.set_text(chart_text(shown))
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, FixedFormatter):
                formatter.seq = [chart_text(str(label)) for label in formatter.seq]


def save(figure: Figure, path: Path, dpi: int = DPI) -> Path:
    """Write the figure atomically; the format follows the file's extension (PNG without one).

    Labels are made plain text first (:func:`plain_labels`).

    Returns:
        ``path``.
    """
    plain_labels(figure)
    path = Path(path)
    kind = path.suffix[1:].lower() or "png"
    atomic_write(path, lambda temp: figure.savefig(temp, dpi=dpi, format=kind))
    return path


def png_bytes(figure: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (for a page that shows it without a file)."""
    plain_labels(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    return buffer.getvalue()
