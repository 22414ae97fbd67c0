"""Terminal tables of the command line: a run's summary, a comparison, a sweep's points, scenarios.

Each function builds a :class:`rich.table.Table` and leaves printing to the caller, which knows the
console (and sanitises user text on the way out). Metrics are shown by their labels with units;
``--json`` and CSV output keep the raw names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from borderabm.metrics import format_estimate, format_value, format_values, metric_label
from borderabm.scenario import ScenarioError, load_scenario

# Four scenarios side by side need room, even when the output goes to a log.
COMPARISON_WIDTH = 150


def summary_table(record: dict[str, Any]) -> Table:
    """A run's summary for a person: one row per metric, its label with units and its value.

    Args:
        record: A run's record (``RunResult.record``): ``scenario``, ``seed``, ``days`` and
            ``summary``.
    """
    table = Table(title=f"{record['scenario']} — seed {record['seed']}, {record['days']} days")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in record["summary"].items():
        shown = format_value(name, value) if isinstance(value, int | float) else str(value)
        table.add_row(metric_label(name), shown)
    return table


def comparison_table(table: pd.DataFrame, replicates: int) -> Table:
    """Scenarios side by side: mean [95% interval] per metric, and the paired difference.

    Args:
        table: A comparison table (:func:`~borderabm.analysis.compare.compare_table`); its first
            scenario is the reference.
        replicates: The replicates every scenario has (named in the title).
    """
    names = list(dict.fromkeys(table["scenario"]))
    out = Table(
        title=f"{' vs '.join(names)} — {replicates} replicates on common seeds "
        f"(mean [95% interval]; Δ = paired difference vs {names[0]}, * = clear)"
    )
    out.add_column("metric")
    for name in names:
        out.add_column(name, justify="right")
    for metric in dict.fromkeys(table["metric"]):
        cells = []
        for name in names:
            row = table[(table["scenario"] == name) & (table["metric"] == metric)].iloc[0]
            text = format_estimate(metric, row["mean"], row["low"], row["high"])
            if name != names[0]:
                mark = "*" if row["clear"] else ""
                # The difference in the precision of its interval, as the report and browser write it.
                ends = [row.get("diff_low", row["diff"]), row.get("diff_high", row["diff"])]
                difference = format_values(metric, [row["diff"], *ends], signed=True)[0]
                text += f"\nΔ {difference}{mark}"
            cells.append(text)
        out.add_row(metric_label(metric), *cells)
    return out


def _point_columns(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The design parameters and the metrics of a point table."""
    metrics = [c[: -len("_low")] for c in table.columns if c.endswith("_low")]
    fixed = {"scenario", "point", "replicates", *metrics}
    parameters = [c for c in table.columns if c not in fixed and not c.endswith(("_low", "_high"))]
    return parameters, metrics


def results_table(table: pd.DataFrame, title: str) -> Table | None:
    """A sweep's design points: parameters, replicates, and mean [95% interval] per metric.

    Args:
        table: A point table (:func:`~borderabm.analysis.compare.point_table`).
        title: The sweep's name.

    Returns:
        The table, or None if there are no points.
    """
    if table.empty:
        return None
    parameters, metrics = _point_columns(table)
    out = Table(title=f"{title}: mean [95% interval] per design point")
    for column in ("scenario", "point", *parameters, "n"):
        out.add_column(column, justify="left" if column == "scenario" else "right")
    for metric in metrics:
        out.add_column(metric_label(metric), justify="right")
    for _, row in table.iterrows():
        cells = [str(row["scenario"]), str(row["point"])]
        cells += [f"{row[p]:.4g}" if isinstance(row[p], float) else str(row[p]) for p in parameters]
        cells.append(str(row["replicates"]))
        cells += [format_estimate(m, row[m], row[m + "_low"], row[m + "_high"]) for m in metrics]
        out.add_row(*cells)
    return out


def results_table_width(table: pd.DataFrame) -> int:
    """The console width :func:`results_table` needs to keep every label on one line."""
    parameters, metrics = _point_columns(table)
    return 40 + 12 * len(parameters) + 30 * len(metrics)


def scenarios_table(folder: Path, files: Sequence[Path]) -> Table:
    """Scenario files with their horizons and descriptions; an invalid file says why, in red.

    Args:
        folder: The folder listed (named in the title).
        files: The scenario files in it, in the order shown.
    """
    table = Table(title=f"Scenarios in {folder}")
    table.add_column("name")
    table.add_column("days", justify="right")
    table.add_column("description")
    for path in files:
        try:
            settings = load_scenario(path)
        except ScenarioError as error:
            table.add_row(path.stem, "", Text(f"invalid: {error.problems[0]}", style="red"))
            continue
        table.add_row(path.stem, str(settings.horizon_days), settings.description)
    return table
