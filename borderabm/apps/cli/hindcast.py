"""``borderabm hindcast``: the history over posterior draws and replicates, against published figures.

A thin shell: it checks the options and files (bad input is one ``error:`` line, exit 2, before
any run), runs :func:`borderabm.analysis.hindcast.run_hindcast` with a progress bar, prints the
score table and writes the report (:mod:`borderabm.report.hindcast`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from borderabm.apps.cli.common import (
    DaskOption,
    WorkersOption,
    fail,
    load_or_fail,
    prepare_output,
    print_wide,
    reason,
    refuse_package_data,
    stderr,
)
from borderabm.scenario.paths import PACKAGE_DATA

if TYPE_CHECKING:
    from borderabm.scenario import Scenario

# The posterior of the shipped fit travels with the package (scripts/apply_fit.py copies it), so a
# wheel installed anywhere finds it; docs/calibration/posterior.csv is the same file.
DEFAULT_POSTERIOR = PACKAGE_DATA / "calibration" / "baseline_posterior.csv"
DEFAULT_OUT = Path("docs/hindcast")


def hindcast(
    scenario: Annotated[
        str, typer.Option(help="The history scenario (a file, or a shipped scenario's name).")
    ] = "history_2014_2025",
    draws: Annotated[
        int, typer.Option(min=1, max=10_000, help="Posterior draws (picked with --seed).")
    ] = 20,
    replicates: Annotated[int, typer.Option(min=1, max=1000, help="Replicates per draw.")] = 2,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    posterior: Annotated[
        Path, typer.Option(help="Calibration posterior CSV (one column per fitted parameter).")
    ] = DEFAULT_POSTERIOR,
    published: Annotated[
        Path | None,
        typer.Option(help="Published figures TOML (default: the shipped history/published.toml)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Report folder.")] = DEFAULT_OUT,
    start_year: Annotated[
        int | None, typer.Option(help="First year (a reduced run: the history is cut).")
    ] = None,
    end_year: Annotated[int | None, typer.Option(help="Last year (inclusive).")] = None,
    seed: Annotated[
        int,
        typer.Option(
            min=0,
            max=2**62,
            help="Seed of the draws' pick and of replicate 1 (replicate k runs on seed + k - 1).",
        ),  # fmt: skip
    ] = 1,
) -> None:
    """Hindcast 2014-2025: the history over posterior draws x replicates, scored per series."""
    refuse_package_data(out)
    history = load_or_fail(scenario)
    hindcast_and_report(history, draws=draws, replicates=replicates, workers=workers, dask=dask,
                        posterior=posterior, published=published, out=out,
                        start_year=start_year, end_year=end_year, seed=seed)  # fmt: skip


def hindcast_and_report(
    history: Scenario,
    *,
    draws: int,
    replicates: int,
    workers: int | None,
    dask: str | None,
    posterior: Path,
    published: Path | None,
    out: Path,
    start_year: int | None,
    end_year: int | None,
    seed: int,
) -> None:
    """Check the inputs, run the hindcast with a progress bar, print the scores, write the report.

    Bad input (a posterior, published figures, years, a draw the scenario refuses, an output
    folder, a Dask scheduler) is an ``error:`` line and exit 2; all but the scheduler are found
    before any run.
    """
    from borderabm.analysis.hindcast import (
        PUBLISHED_FILE,
        HindcastError,
        load_not_compared,
        load_published,
        pick_draws,
        plan_runs,
        read_posterior,
        run_hindcast,
        scenario_years,
        window,
    )
    from borderabm.apps.cli.progress import RunProgress
    from borderabm.experiments.engines import SchedulerUnreachable, engine_for
    from borderabm.report.hindcast import scores_table, write_report
    from borderabm.scenario import ScenarioError

    try:
        figures = load_published(published or PUBLISHED_FILE)
        not_compared = load_not_compared(published or PUBLISHED_FILE)  # the same file's list
        cut = window(history, start_year, end_year)
        picked = pick_draws(read_posterior(posterior), draws, seed)
        plan_runs(cut, picked, 1, seed, str(posterior))  # every draw checked before any run
    except HindcastError as error:
        fail([f"{error.key}: {error.problem}"], error.source)
    except ScenarioError as error:  # a window outside the history, a draw out of bounds
        fail(error.problems, error.source)
    prepare_output(out)
    stderr.print(f"{cut.name}: {draws} draws × {replicates} replicates = {draws * replicates} "
                 f"runs, {cut.start_date} to {cut.end_date}")  # fmt: skip
    try:
        with RunProgress(stderr, "hindcast", draws * replicates) as progress:
            result = run_hindcast(cut, picked, replicates=replicates, seed=seed,
                                  years=scenario_years(cut), engine=engine_for(workers, dask),
                                  published=figures, posterior=str(posterior),
                                  on_done=progress.advance)  # fmt: skip
    except SchedulerUnreachable as error:
        fail([f"cannot use the Dask scheduler: {reason(error)}"], f"--dask {dask}")
    print_wide(scores_table(result), 150)
    try:
        written = write_report(result, out, not_compared)
    except HindcastError as error:  # a miss without a written cause: no report
        fail([f"{error.key}: {error.problem}"], error.source)
    except OSError as error:
        fail([f"cannot write the report: {reason(error)}"], str(out))
    stderr.print(f"wrote {', '.join(str(p) for p in written[:4])} and {len(written) - 4} charts "
                 f"({result.seconds:,.0f} s)")  # fmt: skip
