"""Calibration to published figures: approximate Bayesian computation on a Latin hypercube.

A calibration spec (TOML, see ``calibration/baseline.toml``) names a base scenario, the uncertain
parameters with uniform prior ranges, and the targets: published figures with a tolerance range and
their source. ``role = "fit"`` targets are fitted; ``role = "check"`` targets are only reported
(input checks such as the fence share, historical checks run under their own overrides).

The method, in five steps:

1. **Design.** A Latin hypercube of ``design.samples`` points over the prior box (log-uniform for
   parameters marked ``log``), each run ``replicates`` times on common seeds through the sweep
   engines (local processes or Dask) into a resumable results store (``DIR/store``).
2. **ABC rejection on the simulations.** Each point's target quantities are averaged over its
   replicates and scored by the normalised distance ``sqrt(mean_j z_j**2)``, where
   ``z_j = (model - target) / (tolerance on that side)``; the closest ``accept_share`` are accepted.
3. **Surrogate ABC.** A quadratic regression of each fitted quantity on the (unit-scaled)
   parameters is fitted to the point means, and ``surrogate_draws`` fresh prior draws are scored on
   it. With ``refine_samples`` > 0, history matching first keeps the draws the first-wave
   surrogate cannot rule out (implausibility <= 1; the :data:`MIN_ACCEPTED` least implausible draws
   if fewer are left), a second wave of points drawn among them is run, and the surrogate is
   refitted to the simulated points in that region before scoring those draws. Every scored draw
   predicted within *every* fitted target's tolerance is accepted (if fewer than
   :data:`MIN_ACCEPTED` are, the closest ``accept_share`` of the scored draws, at least
   :data:`MIN_ACCEPTED`, instead). These accepted draws are the posterior.
4. **The fitted point.** Its candidates (``design.candidates`` of them, rounded to three
   significant digits) are the *simulated* points whose replicate means meet every fitted
   tolerance, nearest the posterior median (in prior-range units) first, as they have been run and
   surrogate error cannot mislead; only if no simulated point meets them all, the posterior draws
   nearest the median. Each candidate is run with ``verify_replicates`` fresh seeds (``seed +
   1000`` on) and the one closest to the fitted targets is the fitted point.
5. **Verification.** The fitted scenario is re-run with ``verify_replicates`` other fresh seeds
   (``seed + 2000`` on: neither the design nor the choice among candidates used them), and every
   target is reported with its model mean, 95% interval and whether the mean lies within the
   tolerance range. Check targets with ``scenario`` overrides (e.g. a 2001 run) are run on the
   fitted scenario with those overrides and the same verification seeds.

The code is split by job: :mod:`~borderabm.analysis.calibration.spec` (the spec and its checks),
:mod:`~borderabm.analysis.calibration.runs` (design and runs),
:mod:`~borderabm.analysis.calibration.surrogate` (surrogate and distances),
:mod:`~borderabm.analysis.calibration.fitting` (steps 2–5),
:mod:`~borderabm.analysis.calibration.fitted_scenario` (the fitted scenario file),
:mod:`~borderabm.report.calibration` (the report); this module is the command.

Outputs in ``DIR``: ``calibration.md``, ``calibration.html`` (one page, with the prior-vs-posterior
chart embedded; also ``calibration.png``), ``posterior.csv`` (the accepted draws), ``design.csv``
(the simulated points and their distances) and ``baseline_fitted.toml`` (the base scenario file
with the fitted values written in, comments kept, under a header saying where it came from).

Same spec and seed give the same fitted values, whatever the number of local workers (tested
with one and two; the Dask engine runs the same run specs, each seeded by its own scenario).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The public API of calibration, by job (spec, runs, surrogate, fit, TOML, report); this module is
# the command that strings them together.
from borderabm.analysis.calibration.fitting import MIN_ACCEPTED as MIN_ACCEPTED
from borderabm.analysis.calibration.fitting import Fit as Fit
from borderabm.analysis.calibration.fitting import fit as fit
from borderabm.analysis.calibration.fitting import refine_points as refine_points
from borderabm.analysis.calibration.fitting import select as select
from borderabm.analysis.calibration.fitting import verify as verify
from borderabm.analysis.calibration.runs import design_points as design_points
from borderabm.analysis.calibration.runs import design_quantities as design_quantities
from borderabm.analysis.calibration.runs import design_sweep as design_sweep
from borderabm.analysis.calibration.runs import simulate as simulate
from borderabm.analysis.calibration.spec import REFUGEE_STOCK as REFUGEE_STOCK
from borderabm.analysis.calibration.spec import Calibration as Calibration
from borderabm.analysis.calibration.spec import CalibrationError as CalibrationError
from borderabm.analysis.calibration.spec import TargetSpec as TargetSpec
from borderabm.analysis.calibration.spec import load_calibration as load_calibration
from borderabm.analysis.calibration.surrogate import deviations as deviations
from borderabm.analysis.calibration.surrogate import fit_surrogate as fit_surrogate
from borderabm.experiments.store import ResultsStore, default_results_dir
from borderabm.report.calibration import FILES as FILES
from borderabm.report.calibration import _number
from borderabm.report.calibration import write_report as write_report
from borderabm.scenario.toml_write import set_toml_values as set_toml_values

if TYPE_CHECKING:
    from rich.console import Console

    from borderabm.experiments.sweep import Sweep


def calibrate(
    calibration: Calibration,
    out: Path,
    *,
    workers: int,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> tuple[Fit, list[Path]]:
    """Run (or resume) the design, fit, verify and write the report into ``out``.

    Raises:
        StoreError: If ``out/store`` holds the runs of a different calibration.
        CalibrationError: If no fitted point can be found (the runs stay in the store).
    """
    result, meta = run_calibration(calibration, out, workers=workers, dask=dask, on_done=on_done)
    return result, write_report(calibration, result, out, meta)


def run_calibration(
    calibration: Calibration,
    out: Path,
    *,
    workers: int,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> tuple[Fit, dict[str, Any]]:
    """Run (or resume) the design into ``out/store``, fit and verify; write no report.

    Returns:
        The fit and what the report says about the runs (``written``, ``runs``, ``executed``,
        ``seconds``).

    Raises:
        StoreError: If ``out/store`` holds the runs of a different calibration.
        CalibrationError: If no fitted point can be found (the runs stay in the store).
    """
    import time

    started = time.perf_counter()
    sweep = design_sweep(calibration)
    store = ResultsStore(out / "store")
    executed = _run_design(sweep, store, workers=workers, dask=dask, on_done=on_done)
    quantities = design_quantities(calibration, store, sweep)
    second = refine_points(calibration, quantities)
    if second:
        sweep = design_sweep(calibration, second)
        executed += _run_design(sweep, store, workers=workers, dask=dask, on_done=on_done)
        quantities = design_quantities(calibration, store, sweep)
    result = fit(calibration, quantities, sweep.points)
    select(calibration, result)
    result.verification = verify(calibration, result.fitted)
    meta = {
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": len(sweep.runs),
        "executed": executed,
        "seconds": time.perf_counter() - started,
    }
    return result, meta


def _run_design(
    sweep: Sweep,
    store: ResultsStore,
    *,
    workers: int,
    dask: str | None,
    on_done: Callable[[dict], None],
) -> int:
    """Run the design's missing runs; an unreachable Dask scheduler is a clear error, not a crash.

    Raises:
        CalibrationError: If the Dask scheduler cannot be reached (finished runs stay stored).
    """
    from borderabm.experiments.sweep import run_sweep

    try:
        return run_sweep(sweep, store, workers=workers, dask=dask, on_done=on_done)
    except OSError as error:
        if not dask:
            raise
        raise CalibrationError(
            f"cannot use the Dask scheduler: {error} (finished runs are kept in {store.root})",
            dask,
        ) from None


def command(
    spec_file: Path,
    out: Path | None,
    samples: int | None,
    replicates: int | None,
    workers: int | None,
    dask: str | None,
    console: Console,
    progress_console: Console | None = None,
    *,
    resolve_scenario: Callable[[str, Path], Path],
) -> Fit:
    """The ``borderabm calibrate`` command: load, run with progress, print the fit per target.

    ``resolve_scenario`` maps the spec's ``scenario`` entry (and the spec's folder) to a file, as
    the command line resolves scenario names (see :func:`load_calibration`).

    Raises:
        ScenarioError: For a bad spec (before anything runs).
        CalibrationError: If the output directory cannot be written (checked before anything
            runs, and again when the report is written), or no fitted point can be found.
        StoreError: If the output directory holds a different calibration's runs.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from rich.text import Text

    from borderabm.experiments.engines import default_workers
    from borderabm.experiments.run import prepare_output_dir

    calibration = load_calibration(spec_file, resolve_scenario, samples=samples,
                                   replicates=replicates)  # fmt: skip
    out = out or default_results_dir(calibration.spec.name, prefix="calibration-")
    try:
        prepare_output_dir(out)
    except OSError as error:
        raise CalibrationError(f"cannot write: {error.strerror or error}", str(out)) from None
    spec = calibration.spec
    total = (spec.design.samples + spec.design.refine_samples) * spec.replicates
    console.print(f"{spec.name}: {total} design runs ({spec.design.samples} + "
                  f"{spec.design.refine_samples} points × {spec.replicates} replicates) into "
                  f"{out / 'store'}")  # fmt: skip
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    bar_console = progress_console or console
    # Only on a terminal: in a log, a failure leaves just its error line on stderr.
    with Progress(*columns, console=bar_console, transient=True,
                  disable=not bar_console.is_terminal) as progress:  # fmt: skip
        done_before = len(ResultsStore(out / "store").done())
        task = progress.add_task("design runs", total=total, completed=min(done_before, total))
        result, meta = run_calibration(calibration, out, workers=workers or default_workers(),
                                       dask=dask,
                                       on_done=lambda _: progress.update(task, advance=1))  # fmt: skip
    table = Table(title=f"Calibration {spec.name}: fit per target at the fitted point "
                  f"({spec.verify_replicates} fresh replicates)")  # fmt: skip
    for column in ("target", "role", "published", "tolerance", "model mean [95%]", "within"):
        table.add_column(column, justify="left" if column in ("target", "role") else "right")
    for r in result.verification.itertuples():
        table.add_row(r.target, r.role, _number(r.value), f"{_number(r.low)} – {_number(r.high)}",
                      f"{_number(r.mean)} [{_number(r.ci_low)} – {_number(r.ci_high)}]",
                      "yes" if r.within else Text("no", style="red"))  # fmt: skip
    console.print(table)
    ranges = Table(title="Posterior ranges (5–95%) and fitted values")
    for column in ("parameter", "prior", "posterior", "fitted"):
        ranges.add_column(column, justify="left" if column == "parameter" else "right")
    for r in result.ranges.itertuples():
        ranges.add_row(r.parameter, f"{_number(r.prior_low)} – {_number(r.prior_high)}",
                       f"{_number(r.posterior_low)} – {_number(r.posterior_high)}",
                       _number(r.fitted))  # fmt: skip
    console.print(ranges)
    # The tables are printed first, so a failure to write the files loses nothing computed.
    try:
        written = write_report(calibration, result, out, meta)
    except OSError as error:
        raise CalibrationError(
            f"cannot write the report: {error.strerror or error} (the runs are kept in the store)",
            str(out),
        ) from None
    console.print("wrote " + ", ".join(str(p) for p in written))
    return result
