"""``borderabm sensitivity``: run (or resume) a Morris or Sobol sweep, then report its indices."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from borderabm.analysis.sensitivity import analyse, check_design_kind
from borderabm.apps.cli.progress import RunProgress
from borderabm.experiments.engines import default_workers
from borderabm.experiments.store import ResultsStore, default_results_dir
from borderabm.experiments.sweep import load_sweep, run_sweep
from borderabm.report.sensitivity import check_metric_names, print_indices, write_outputs
from borderabm.scenario import resolve_relative

if TYPE_CHECKING:
    import pandas as pd


def analyse_sensitivity_and_report(
    sweep_file: Path,
    out: Path | None,
    metrics: list[str],
    workers: int | None,
    dask: str | None,
    console: Console,
    progress_console: Console | None = None,
) -> pd.DataFrame:
    """Run a Morris or Sobol sweep (resuming it), analyse it and report the indices.

    Writes ``sensitivity.csv`` and ``sensitivity.png`` into the results directory and prints the
    table to ``console``.

    Args:
        sweep_file: The sweep TOML file (design kind ``morris`` or ``sobol``).
        out: Results directory (default: ``results/<sweep name>``).
        metrics: Metrics to analyse; empty means the sweep file's ``metrics``, else the headline
            set.
        workers: Local worker processes (default: the usable cores).
        dask: Dask scheduler address, or ``"local"``; None runs locally.
        console: Where the table and the lines saying what ran go.
        progress_console: Where the progress bar goes (default ``console``).

    Returns:
        The table of :func:`~borderabm.analysis.sensitivity.analyse`.

    Raises:
        ScenarioError: For a bad sweep file or scenario.
        ValueError: For a design that is not Morris or Sobol or a metric that no run summary
            holds (both checked before any run), or a metric the stored runs lack (checked after
            the runs, which stay stored: a re-run only analyses).
        StoreError: If the results directory holds a different sweep.
        OSError: If the Dask scheduler cannot be reached.
    """
    loaded = load_sweep(sweep_file, resolve_relative)
    kind = loaded.spec.design.kind
    check_design_kind(kind, sweep_file)
    check_metric_names(metrics)  # before any run: a typo costs nothing
    store = ResultsStore(out or default_results_dir(loaded.spec.name))
    console.print(f"{loaded.spec.name}: {len(loaded.runs)} runs ({kind} design) into {store.root}")
    done_before = len(store.done() & {run.run_id for run in loaded.runs})
    with RunProgress(progress_console or console, loaded.spec.name, len(loaded.runs),
                     done_before) as progress:  # fmt: skip
        executed = run_sweep(loaded, store, workers=workers or default_workers(), dask=dask,
                             on_done=progress.advance)  # fmt: skip
    console.print(f"{executed} runs executed")
    table = analyse(store, list(metrics) or list(loaded.spec.metrics))
    print_indices(table, console, loaded.spec.name)
    csv, png = write_outputs(table, store.root)
    console.print(f"wrote {csv}, {png}")
    return table
