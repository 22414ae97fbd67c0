"""``borderabm sweep`` and ``borderabm results``: run a parameter sweep, summarise a results store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from borderabm.apps.cli.common import (
    DaskOption,
    WorkersOption,
    fail,
    input_path,
    print_notes,
    print_wide,
    reason,
    refuse_package_data,
    refuse_store_file,
    stderr,
    store_problems_as_bad_input,
)
from borderabm.scenario import ScenarioError, resolve_relative

if TYPE_CHECKING:
    import pandas as pd

    from borderabm.experiments.store import ResultsStore


def sweep(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep TOML file, or the name of a shipped sweep.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/<sweep name>).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip finished runs (also the default when re-run).")
    ] = True,
) -> None:
    """Run a parameter sweep into a crash-safe results store; re-running resumes it."""
    from borderabm.analysis.compare import point_table
    from borderabm.apps.cli.progress import RunProgress
    from borderabm.experiments.engines import engine_for
    from borderabm.experiments.store import ResultsStore, default_results_dir
    from borderabm.experiments.sweep import load_sweep, run_sweep

    try:
        loaded = load_sweep(input_path(sweep_file, "sweeps"), resolve_relative)
    except ScenarioError as error:
        fail(error.problems, error.source)
    print_notes(loaded.notes, str(loaded.source))
    refuse_package_data(out := out or default_results_dir(loaded.spec.name))
    store = ResultsStore(out)
    done_before = len(store.done() & {r.run_id for r in loaded.runs})
    engine = engine_for(workers, dask)
    # The bar leaves the terminal before an error line is written (the inner context exits first).
    with (
        store_problems_as_bad_input(store.root, dask),
        RunProgress(stderr, loaded.spec.name, len(loaded.runs), done_before) as progress,
    ):
        executed = run_sweep(loaded, store, engine=engine, on_done=progress.advance)
    table = point_table(_finished_runs(store), loaded.spec.metrics)  # a damaged row: an error line
    stderr.print(f"{executed} runs executed, {done_before} already done; results in {store.root}",
                 soft_wrap=True)  # fmt: skip
    _print_points(table, loaded.spec.name)


def results(
    results_dir: Annotated[Path, typer.Argument(help="A results directory written by sweep.")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Metrics to show (default: headline).")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write the summary as CSV.")] = None,
) -> None:
    """Summarise a sweep: mean and 95% interval per scenario and design point."""
    from borderabm.analysis.compare import point_table
    from borderabm.analysis.results import summary_metric_names, unknown_metrics
    from borderabm.experiments.store import ResultsStore

    if csv is not None:
        refuse_store_file(csv, "--csv")
    store = ResultsStore(results_dir)
    runs = _finished_runs(store)
    unknown = unknown_metrics(runs, metric or ())
    if unknown:
        fail([f"--metric: unknown metric {', '.join(unknown)} "
              f"(allowed: {', '.join(summary_metric_names(runs))})"], str(results_dir))  # fmt: skip
    table = point_table(runs, metric or ())
    _print_points(table, store.sweep_name(store.manifest() or {}))
    if csv is not None:
        try:
            table.to_csv(csv, index=False)
        except (OSError, ValueError) as error:  # the table is printed above: nothing is lost
            # pandas says "non-existent directory" also when a parent is a file: name that file.
            file_parent = next((parent for parent in csv.parents if parent.is_file()), None)
            fail([f"cannot write: {file_parent} is a file, not a folder" if file_parent
                  else f"cannot write: {reason(error)}"], str(csv))  # fmt: skip
        stderr.print(f"wrote {csv}", soft_wrap=True)


def _finished_runs(store: ResultsStore) -> pd.DataFrame:
    """The finished runs of a results directory; a missing, corrupt or empty one is an error line."""
    from borderabm.analysis.results import finished_runs
    from borderabm.experiments.store import StoreError

    try:
        return finished_runs(store)
    except StoreError as error:  # names its folder or file
        fail([str(error)])


def _print_points(table: pd.DataFrame, title: str) -> None:
    """Print a point table (nothing if it is empty), wide enough for every label on one line."""
    from borderabm.report.tables import results_table, results_table_width

    shown = results_table(table, title)
    if shown is not None:
        print_wide(shown, results_table_width(table))
