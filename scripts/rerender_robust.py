"""Re-render docs/robust's words, tables and chart from its stored CSVs, without running the model.

The robust comparison (``compare ... --uncertainty docs/calibration/posterior.csv --draws 50
--replicates 2 --report docs/robust``) takes 400 one-year runs; when only the presentation changed
(number formatting), this rebuilds the comparison from ``robust_table.csv``, ``robust_flips.csv``
and ``robust_worlds.csv`` and writes the report again with the current code. The CSVs it writes
back must equal the ones it read (checked): only the text and the chart may change.

Usage: ``.venv/bin/python scripts/rerender_robust.py [FOLDER]`` (default ``docs/robust``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from borderabm.analysis.robust import RobustComparison
from borderabm.report.robust import write_robust_report

SOURCE = "docs/calibration/posterior.csv"  # the draws' file named in the report (the command's)
SEEDS = 2  # the command's --replicates: seeds per world (the CSVs hold seed-averaged values)
CSV_FILES = ("robust_table.csv", "robust_flips.csv", "robust_worlds.csv", "robust_head_to_head.csv")


def read(folder: Path, name: str) -> pd.DataFrame:
    """A stored table (the check in :func:`main` shows its floats read back to the last digit)."""
    return pd.read_csv(folder / name)


def main(folder: Path) -> None:
    """Rebuild the comparison from ``folder``'s CSVs and write its report there again."""
    before = {name: (folder / name).read_bytes() for name in CSV_FILES}
    table = read(folder, "robust_table.csv")
    worlds = read(folder, "robust_worlds.csv")
    order = list(dict.fromkeys(table["scenario"]))
    parameters = [c for c in worlds.columns if c not in {*order, "point", "metric"}]
    robust = RobustComparison(
        order=order,
        parameters=parameters,
        worlds=int(worlds["point"].nunique()),
        seeds=SEEDS,
        table=table,
        # An empty condition or note is "" in the comparison (the CSV reads it back as NaN).
        flips=read(folder, "robust_flips.csv").fillna({"condition": "", "note": ""}),
        world_values=worlds,
        source=SOURCE,
        runs=pd.DataFrame(),
    )
    write_robust_report(robust, folder)
    changed = [name for name in CSV_FILES if (folder / name).read_bytes() != before[name]]
    for name in changed:  # the numbers must not move: put the stored table back and say so
        (folder / name).write_bytes(before[name])
    if changed:
        raise SystemExit(f"error: the CSVs written back differ from the stored ones: {changed}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/robust"))
