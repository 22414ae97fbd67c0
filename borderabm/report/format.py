"""Text for people: numbers, p-values, Markdown and HTML tables, and escaping (one copy of each).

Every report (comparison, sensitivity, discovery, calibration, validation) formats through these,
so a number or a table looks the same wherever it appears. Money is formatted by its unit in
:func:`borderabm.metrics.format_value`, next to the metric registry that knows the units.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from borderabm.metrics import format_estimate, format_values

if TYPE_CHECKING:
    from pandas import DataFrame

Align = Literal["left", "right"]


# Numbers --------------------------------------------------------------------------------------
def short_number(value: float, signed: bool = False) -> str:
    """A compact number: 674.52M, 2.05bn, 1.30k, 12.5, 0.98 (with a sign if asked)."""
    sign = "+" if signed and value > 0 else ""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{sign}{value / limit:,.2f}{suffix}"
    return format_values("", [value], signed)[0]  # three significant figures: 0.98, not 1.0


def readable_number(value: Any) -> str:
    """A number for a table of mixed magnitudes: 1,234, 0.123, 2.05M, ``n/a`` if not finite.

    Whole numbers keep every digit below 100,000 (counts), other numbers three significant
    digits, or one decimal from 100 on (142.5 is not shown as 142); from 100,000 on the short
    form of :func:`short_number`. Rounding noise of an exact
    match (below 1e-9) reads as 0; booleans and None are written as they are.
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | np.integer):
        whole = int(value)
        return f"{whole:,}" if abs(whole) < 1e5 else short_number(float(whole))
    number = float(value)
    if not math.isfinite(number):
        return "n/a"
    if abs(number) < 1e-9:
        return "0"
    if abs(number) >= 1e5:
        return short_number(number)
    if abs(number) >= 100:  # a mean of whole counts often ends in .5: keep one decimal then
        return f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"
    return f"{number:.3g}"


def range_text(low: Any, high: Any, number: Callable[[Any], str] = readable_number) -> str:
    """A range, ``low – high``, each end written by ``number``."""
    return f"{number(low)} – {number(high)}"


def estimate_text(
    mean: Any, low: Any, high: Any, number: Callable[[Any], str] = readable_number
) -> str:
    """An estimate with its interval, ``mean [low – high]``, each written by ``number``."""
    return f"{number(mean)} [{range_text(low, high, number)}]"


def estimate_cell(metric: str, row: Any, reference: bool, line_break: str = "\n") -> str:
    """A scorecard cell: mean [95% interval], and for a non-reference scenario Δ [interval] ✱.

    The one cell of a comparison, in report.md, index.html and the browser's scorecard; each of
    the two estimates has one precision (:func:`~borderabm.metrics.format_estimate`).

    Args:
        metric: The metric of the row (its unit decides how the numbers are written).
        row: The comparison table's row: ``mean``, ``low``, ``high`` and, for a non-reference
            scenario, ``diff``, ``diff_low``, ``diff_high`` and ``clear``.
        reference: Whether the scenario is the reference (no difference then).
        line_break: What separates the estimate from the difference ("<br>" in HTML).
    """
    text = format_estimate(metric, row["mean"], row["low"], row["high"])
    if not reference:
        mark = " ✱" if row["clear"] else ""
        difference = format_estimate(metric, row["diff"], row["diff_low"], row["diff_high"],
                                     signed=True)  # fmt: skip
        text += f"{line_break}Δ {difference}{mark}"
    return text


def p_value(value: float) -> str:
    """A p-value for a table: 0.0039, 0.5, 1, and two significant digits below 0.001 (1.9e-06)."""
    if math.isnan(value):
        return "nan"
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}".rstrip("0").rstrip(".")


# Escaping ---------------------------------------------------------------------------------------
def one_line(text: str, keep_newlines: bool = False) -> str:
    r"""Text with its control characters shown, not acted on: ``\x1b``, ``\u202e``, ``\r``.

    The one sanitiser of user text for people, on the terminal and in every report file.
    Escape sequences (``\x1b[2J``, ``\x1b]0;title\x07``), carriage returns and the
    bidirectional overrides (U+202E) would otherwise act on a terminal (``cat report.md``) or
    reorder a line; fonts have no glyph for them either. They are written as ``\x1b``,
    ``\u202e`` and so on. Unicode calls all of them not printable.

    Args:
        text: Any text.
        keep_newlines: Keep ``\n`` (a table cell of two lines), escape every other control.
    """
    return "".join(
        c if c.isprintable() or c == " " or (keep_newlines and c == "\n")
        else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text
    )  # fmt: skip


# The characters that can start Markdown syntax anywhere in a line (emphasis, code, links,
# images, raw HTML, entities, strikethrough, table cells, escapes): each gets a backslash.
# An underscore between two letters or digits (fence_full) cannot start emphasis: left as is.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|#~&!{}]|(?<![^\W_])_|_(?![^\W_]))")
# What starts a block only at the beginning of a line: a bullet or heading rule, a numbered item.
_MARKDOWN_BULLET = re.compile(r"^(\s*)([-+=])")
_MARKDOWN_NUMBERED = re.compile(r"^(\s*\d+)([.)])")


def markdown_text(text: Any) -> str:
    r"""User text (a name, a description) as plain text in Markdown, on one line.

    Every character that Markdown would read as syntax (``*``, ``_``, backticks, ``|``,
    brackets, ``<``/``>`` of HTML tags, ``#``, ...) gets a backslash, a list marker at the start
    is escaped, line breaks become spaces and control characters are shown as ``\x1b``
    (:func:`one_line`; a backslash before a letter is literal in Markdown). The result renders
    as the text that was typed.
    """
    flat = str(text).replace("\r\n", " ").replace("\n", " ")
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    escaped = _MARKDOWN_BULLET.sub(r"\1\\\2", escaped, count=1)
    escaped = _MARKDOWN_NUMBERED.sub(r"\1\\\2", escaped, count=1)
    return one_line(escaped)


def markdown_code(text: Any) -> str:
    """User text as a Markdown code span: fenced by more backticks than it holds, controls shown."""
    flat = one_line(str(text).replace("\n", " "))
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def markdown_cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: pipes escaped (once), line breaks as spaces.

    A pipe that :func:`markdown_text` already escaped keeps its one backslash.
    """
    return re.sub(r"(?<!\\)\|", r"\\|", one_line(str(text).replace("\n", " ")))


def html_text(text: Any) -> str:
    """Text safe in HTML, quotes included (so also inside an attribute), controls shown."""
    return html.escape(one_line(str(text), keep_newlines=True), quote=True)


def plain_frame(frame: DataFrame) -> DataFrame:
    """A copy of a table whose text cells and column names show control characters escaped.

    For CSV files: a name with an escape sequence would act on the terminal of whoever runs
    ``cat`` on the file.
    """
    from pandas import CategoricalDtype  # here: the terminal's escaping needs no pandas
    from pandas.api.types import is_object_dtype, is_string_dtype

    frame = frame.rename(columns=lambda c: one_line(c) if isinstance(c, str) else c)
    for column in frame.columns:
        kind = frame[column].dtype
        if is_object_dtype(kind) or is_string_dtype(kind) or isinstance(kind, CategoricalDtype):
            frame[column] = frame[column].map(lambda v: one_line(v) if isinstance(v, str) else v)
    return frame


def inline_markdown_html(text: Any) -> str:
    """Escaped text with Markdown's ``**bold**``, ``*italic*`` and ```code``` as HTML."""
    escaped = html_text(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\*(.+?)\*", r"<i>\1</i>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


# Tables -----------------------------------------------------------------------------------------
def markdown_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    align: Sequence[Align] | None = None,
) -> str:
    """A Markdown (GitHub) table, every cell escaped with :func:`markdown_cell`.

    Args:
        header: The column names.
        rows: The cells, one sequence per row.
        align: ``"left"`` or ``"right"`` per column; default every column left.
    """
    align = align or ["left"] * len(header)
    rule = "|" + "|".join("---:" if side == "right" else "---" for side in align) + "|"
    lines = ["| " + " | ".join(markdown_cell(h) for h in header) + " |", rule]
    lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    classes: Sequence[Sequence[str]] | None = None,
    header_classes: Sequence[str] | None = None,
    row_headers: bool = False,
) -> str:
    """An HTML table of cells that are already HTML (escape user text with :func:`html_text`).

    Args:
        header: The column headings (HTML).
        rows: The cells (HTML), one sequence per row.
        classes: A CSS class per cell ("" for none), in the shape of ``rows``.
        header_classes: A CSS class per column heading ("" for none).
        row_headers: Whether each row's first cell heads its row (``<th scope="row">``).
    """

    def attribute(css: str) -> str:
        return f' class="{css}"' if css else ""

    head = "".join(f"<th{attribute(css)}>{cell}</th>"
                   for cell, css in zip(header, header_classes or [""] * len(header), strict=True))  # fmt: skip
    body = []
    for number, row in enumerate(rows):
        row_classes = classes[number] if classes is not None else [""] * len(row)
        cells = []
        for column, (cell, css) in enumerate(zip(row, row_classes, strict=True)):
            tag = "th" if row_headers and column == 0 else "td"
            scope = ' scope="row"' if tag == "th" else ""
            cells.append(f"<{tag}{scope}{attribute(css)}>{cell}</{tag}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table><thead><tr>" + head + "</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table>")  # fmt: skip
