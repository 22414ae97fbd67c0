"""``borderabm compare``: run scenarios on common seeds (or open a sweep), print and report them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from borderabm.apps.cli.common import (
    DaskOption,
    WorkersOption,
    dump_json,
    fail,
    prepare_output,
    print_wide,
    reason,
    refuse_package_data,
    scenario_path,
    stderr,
    store_problems_as_bad_input,
)
from borderabm.scenario import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from borderabm.analysis.compare import Comparison
    from borderabm.experiments.store import ResultsStore


def compare(
    scenario_files: Annotated[
        list[str] | None, typer.Argument(help="Two or more scenarios; the first is the reference.")
    ] = None,
    replicates: Annotated[int, typer.Option(min=1, max=10_000, help="Runs per scenario.")] = 5,
    seed: Annotated[
        int,
        typer.Option(min=0, max=2**62, help="Seed of replicate 1 (k-th uses seed + k - 1)."),
    ] = 1,
    days: Annotated[
        int | None, typer.Option(min=1, max=36_500, help="Days to simulate (overrides horizons).")
    ] = None,
    sweep_dir: Annotated[
        Path | None,
        typer.Option("--sweep", help="Compare the runs of an existing sweep instead of running."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/compare-...).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML + Markdown report with charts here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the table as strict JSON (NaN as null).")
    ] = False,
) -> None:
    """Compare scenarios on common seeds: means, 95% intervals, paired differences vs the first."""
    from borderabm.analysis.compare import load_comparison
    from borderabm.analysis.results import check_metrics_stored
    from borderabm.experiments.store import ResultsStore
    from borderabm.report.tables import COMPARISON_WIDTH, comparison_table

    if sweep_dir is not None:
        store = ResultsStore(sweep_dir)
    else:
        store = _run_comparison(scenario_files or [], replicates, seed, days, out, workers, dask)
    with store_problems_as_bad_input():  # no manifest, a damaged file, no finished runs
        comparison = load_comparison(store)
        check_metrics_stored(comparison)
    table = comparison.table()
    if as_json:
        sys.stdout.write(dump_json(table.to_dict(orient="records")) + "\n")
    else:
        print_wide(comparison_table(table, comparison.replicates), COMPARISON_WIDTH)
    if report is not None:
        _write_report(comparison, table, report)


def _run_comparison(names: list[str], replicates: int, seed: int, days: int | None,
                    out: Path | None, workers: int | None, dask: str | None) -> ResultsStore:  # fmt: skip
    """Run the scenarios on common seeds into a results store (resuming it) and return the store."""
    from borderabm.experiments.engines import engine_for
    from borderabm.experiments.store import ResultsStore, default_results_dir
    from borderabm.experiments.sweep import comparison_sweep, run_sweep

    if len(names) < 2:
        fail(["SCENARIO_FILES: compare needs at least two scenarios (or --sweep DIR)"],
             "borderabm compare")  # fmt: skip
    paths = [scenario_path(name) for name in names]
    try:
        loaded = comparison_sweep(paths, replicates, seed, days)
    except ScenarioError as error:
        fail(error.problems, error.source)
    refuse_package_data(out := out or default_results_dir(loaded.spec.name))
    store = ResultsStore(out)
    with store_problems_as_bad_input(store.root, dask):
        run_sweep(loaded, store, engine=engine_for(workers, dask))
    return store


def _write_report(comparison: Comparison, table: pd.DataFrame, folder: Path) -> None:
    """Write the comparison's HTML + Markdown report with charts (the table is printed already)."""
    from borderabm.analysis.compare import sector_names
    from borderabm.analysis.results import stored_series
    from borderabm.report.compare import write_report

    with store_problems_as_bad_input():
        series = stored_series(comparison)
    title = "Comparison: " + " vs ".join(comparison.order)
    prepare_output(folder)
    try:
        written = write_report(table, comparison.runs, series, sector_names(series),
                               folder, title, comparison.replicates)  # fmt: skip
    except (OSError, ValueError) as error:  # the table is printed above: nothing is lost
        fail([f"cannot write the report: {reason(error)}"], str(folder))
    stderr.print(f"wrote {written[0]} (and report.md, charts)", soft_wrap=True)
