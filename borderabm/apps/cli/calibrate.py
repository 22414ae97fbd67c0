"""``borderabm calibrate``: load the spec, run the calibration with progress, print and write the report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from borderabm.analysis.calibration import STORE_FOLDER, design_runs_total, run_calibration
from borderabm.analysis.calibration.fitting import Fit
from borderabm.analysis.calibration.spec import CalibrationError, load_calibration
from borderabm.apps.cli.progress import RunProgress
from borderabm.experiments.engines import default_workers
from borderabm.experiments.run import prepare_output_dir
from borderabm.experiments.store import ResultsStore, default_results_dir
from borderabm.report.calibration import print_fit, write_report
from borderabm.scenario import resolve_relative


def calibrate_and_report(
    spec_file: Path,
    out: Path | None,
    samples: int | None,
    replicates: int | None,
    workers: int | None,
    dask: str | None,
    console: Console,
    progress_console: Console,
) -> Fit:
    """Load a spec, run (or resume) its calibration, print the fit per target, write the report.

    Args:
        spec_file: The calibration spec; its ``scenario`` is resolved as the command line
            resolves scenario names.
        out: Report and results directory (default: ``results/calibration-<name>``).
        samples: Latin hypercube points, instead of the spec's.
        replicates: Replicates per point, instead of the spec's.
        workers: Local worker processes (default: the usable cores).
        dask: Dask scheduler address, or ``"local"``; None runs locally.
        console: Where the tables and "wrote" lines go.
        progress_console: Where the progress bar goes.

    Raises:
        ScenarioError: For a bad spec (before anything runs).
        CalibrationError: If the output directory cannot be written (checked before anything
            runs, and again when the report is written), or no fitted point can be found.
        StoreError: If the output directory holds a different calibration's runs.
    """
    calibration = load_calibration(spec_file, resolve_relative, samples=samples,
                                   replicates=replicates)  # fmt: skip
    out = out or default_results_dir(calibration.spec.name, prefix="calibration-")
    try:
        prepare_output_dir(out)
    except OSError as error:
        raise CalibrationError(f"cannot write: {error.strerror or error}", str(out)) from None
    spec = calibration.spec
    store = ResultsStore(out / STORE_FOLDER)
    total = design_runs_total(calibration)
    console.print(f"{spec.name}: {total} design runs ({spec.design.samples} + "
                  f"{spec.design.refine_samples} points × {spec.replicates} replicates) into "
                  f"{store.root}")  # fmt: skip
    done_before = min(len(store.done()), total)
    with RunProgress(progress_console, "design runs", total, done_before) as progress:
        result, runs = run_calibration(calibration, store, workers=workers or default_workers(),
                                       dask=dask, on_done=progress.advance)  # fmt: skip
    print_fit(calibration, result, console)
    # The tables are printed first, so a failure to write the files loses nothing computed.
    try:
        written = write_report(calibration, result, out, runs)
    except OSError as error:
        raise CalibrationError(
            f"cannot write the report: {error.strerror or error} (the runs are kept in the store)",
            str(out),
        ) from None
    console.print("wrote " + ", ".join(str(p) for p in written))
    return result
