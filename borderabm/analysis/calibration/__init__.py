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
:mod:`~borderabm.analysis.calibration.fitted_scenario` (the fitted scenario's text); this module
strings the steps together (:func:`run_calibration`). The report and the files are
:mod:`borderabm.report.calibration`'s, the command :mod:`borderabm.apps.cli.calibrate`'s.

Outputs in ``DIR``: ``calibration.md``, ``calibration.html`` (one page, with the prior-vs-posterior
chart embedded; also ``calibration.png``), ``posterior.csv`` (the accepted draws), ``design.csv``
(the simulated points and their distances) and ``baseline_fitted.toml`` (the base scenario file
with the fitted values written in, comments kept, under a header saying where it came from).

Same spec and seed give the same fitted values, whatever the number of local workers (tested
with one and two; the Dask engine runs the same run specs, each seeded by its own scenario).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from borderabm.analysis.calibration.fitting import Fit, fit, refine_points, select, verify
from borderabm.analysis.calibration.runs import design_quantities, design_sweep
from borderabm.analysis.calibration.spec import Calibration, CalibrationError
from borderabm.experiments.store import ResultsStore

if TYPE_CHECKING:
    from borderabm.experiments.sweep import Sweep

STORE_FOLDER = "store"  # the design's results store, inside the calibration's output folder


@dataclass(frozen=True)
class DesignRuns:
    """What one calibration did to get its runs (the report states it).

    Attributes:
        written: When the calibration finished (ISO 8601, UTC, to the second).
        runs: Design runs, both waves.
        executed: Of those, the runs this invocation executed (the rest were in the store).
        seconds: Wall time of the whole calibration.
    """

    written: str
    runs: int
    executed: int
    seconds: float


def run_calibration(
    calibration: Calibration,
    store: ResultsStore,
    *,
    workers: int,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> tuple[Fit, DesignRuns]:
    """Run (or resume) the design into ``store``, fit, choose the fitted point and verify it.

    Args:
        calibration: A loaded spec.
        store: The design's results store (finished runs are reused).
        workers: Local worker processes.
        dask: A Dask scheduler address, or ``"local"``; None runs locally.
        on_done: Called with each finished design run (for a progress bar).

    Returns:
        The fit, and what it took to get the runs.

    Raises:
        StoreError: If ``store`` holds the runs of a different calibration.
        CalibrationError: If the Dask scheduler cannot be reached or no fitted point can be found
            (finished runs stay in the store).
    """
    started = time.perf_counter()
    sweep = design_sweep(calibration)
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
    runs = DesignRuns(
        written=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        runs=len(sweep.runs),
        executed=executed,
        seconds=time.perf_counter() - started,
    )
    return result, runs


def design_runs_total(calibration: Calibration) -> int:
    """Design runs of both waves: (first-wave + second-wave points) x replicates."""
    design = calibration.spec.design
    return (design.samples + design.refine_samples) * calibration.spec.replicates


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
