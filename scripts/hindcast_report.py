"""Rebuild the hindcast report (and the validation report's out-of-sample section) from stored runs.

``borderabm hindcast`` runs the history and writes ``runs.csv`` (every run's per-year values) beside
its report. The report's roles, scores, misses and causes come from
``borderabm/data/history/published.toml`` and the calibration spec, not from the runs: when only
those change, the report is rebuilt here from ``runs.csv`` without running the model. The numbers
are the same as a fresh ``borderabm hindcast`` with the options that wrote the runs.

With ``--validation DIR``, the out-of-sample section of ``DIR/validation.md`` and
``DIR/validation.html`` (written by ``borderabm validate-model --hindcast``) is replaced by the one
built from the new ``hindcast.csv``; the rest of the validation report (its facts, which a
20-replicate run produces) is left as it is.

Usage::

    python scripts/hindcast_report.py --runs docs/hindcast/runs.csv --out docs/hindcast \\
        --validation docs/validation
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from borderabm.analysis.hindcast import (
    HISTORY_SCENARIO,
    PUBLISHED_FILE,
    HindcastError,
    from_runs_frame,
    held_out_summary,
    load_not_compared,
    load_published,
    read_numbers,
    read_posterior,
)
from borderabm.report.hindcast import scores_table, totals, write_report
from borderabm.report.validation import out_of_sample_html, out_of_sample_markdown

DEFAULT_POSTERIOR = Path("borderabm/data/calibration/baseline_posterior.csv")
MD_START, MD_END = "## Out of sample: the hindcast 2014–2025", "## Method"
HTML_START, HTML_END = "<h2>Out of sample: the hindcast 2014–2025</h2>", "<h2>Method</h2>"


def splice(text: str, start: str, end: str, section: str, source: str) -> str:
    """``text`` with what lies from ``start`` up to ``end`` replaced by ``section``."""
    first, last = text.find(start), text.find(end)
    if first < 0 or last < first:
        raise HindcastError(source, "out-of-sample section",
                            f"not found (allowed: a report written by validate-model --hindcast, "
                            f"with '{start}' before '{end}')")  # fmt: skip
    return text[:first] + section + text[last:]


def rebuild_validation(folder: Path, numbers: Path) -> None:
    """Replace the out-of-sample section of the validation report in ``folder``."""
    summary = held_out_summary(read_numbers(numbers))
    md_path, html_path = folder / "validation.md", folder / "validation.html"
    md = splice(md_path.read_text(encoding="utf-8"), MD_START, MD_END,
                "\n".join(out_of_sample_markdown(summary)) + "\n\n", str(md_path))  # fmt: skip
    html = splice(html_path.read_text(encoding="utf-8"), HTML_START, HTML_END,
                  "\n".join(out_of_sample_html(summary)) + "\n", str(html_path))  # fmt: skip
    md_path.write_text(md, encoding="utf-8")
    html_path.write_text(html, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("docs/hindcast/runs.csv"))
    parser.add_argument("--posterior", type=Path, default=DEFAULT_POSTERIOR)
    parser.add_argument("--published", type=Path, default=PUBLISHED_FILE)
    parser.add_argument("--scenario", default=HISTORY_SCENARIO)
    parser.add_argument("--out", type=Path, default=Path("docs/hindcast"))
    parser.add_argument("--validation", type=Path, default=None)
    options = parser.parse_args(argv)
    try:
        runs = pd.read_csv(options.runs)
    except (OSError, ValueError) as error:
        print(f"error: {options.runs}: file: cannot read a runs table: {error}", file=sys.stderr)
        return 2
    try:
        hindcast = from_runs_frame(runs, read_posterior(options.posterior),
                                   scenario=options.scenario,
                                   posterior_name=str(options.posterior),
                                   published=load_published(options.published))  # fmt: skip
        write_report(hindcast, options.out, load_not_compared(options.published))
        if options.validation is not None:
            rebuild_validation(options.validation, options.out / "hindcast.csv")
    except HindcastError as error:
        print(f"error: {error.source}: {error.key}: {error.problem}", file=sys.stderr)
        return 2
    from rich.console import Console

    Console(width=200).print(scores_table(hindcast))
    compared, misses = totals(hindcast)
    print(f"{compared} held-out comparisons, {misses} misses; wrote {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
