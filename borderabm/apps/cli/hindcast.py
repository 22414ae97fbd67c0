"""``borderabm hindcast``: the history over posterior draws and replicates, against published figures.

A thin shell: it checks the options and files (bad input is one ``error:`` line, exit 2, before
any run), runs :func:`borderabm.analysis.hindcast.run_hindcast` with a progress bar, prints the
score table and writes the report (:mod:`borderabm.report.hindcast`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

DEFAULT_POSTERIOR = Path("docs/calibration/posterior.csv")
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
    from borderabm.analysis.hindcast import (
        PUBLISHED_FILE,
        HindcastError,
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

    refuse_package_data(out)
    history = load_or_fail(scenario)
    try:
        figures = load_published(published or PUBLISHED_FILE)
        cut = window(history, start_year, end_year)
        frame = read_posterior(posterior)
        picked = pick_draws(frame, draws, seed)
        plan_runs(cut, picked[:1], 1, seed, str(posterior))  # every column checked before any run
    except HindcastError as error:
        fail([f"{error.key}: {error.problem}"], error.source)
    except ScenarioError as error:
        fail(error.problems, error.source)
    prepare_output(out)
    total = draws * replicates
    stderr.print(f"{cut.name}: {draws} draws × {replicates} replicates = {total} runs, "
                 f"{cut.start_date} to {cut.end_date}")  # fmt: skip
    try:
        with RunProgress(stderr, "hindcast", total) as progress:
            result = run_hindcast(cut, picked, replicates=replicates, seed=seed,
                                  years=scenario_years(cut), engine=engine_for(workers, dask),
                                  published=figures, posterior=str(posterior),
                                  on_done=progress.advance)  # fmt: skip
    except ScenarioError as error:  # a draw outside what the scenario allows
        fail(error.problems, error.source)
    except SchedulerUnreachable as error:
        fail([f"cannot use the Dask scheduler: {reason(error)}"], f"--dask {dask}")
    print_wide(scores_table(result), 150)
    try:
        written = write_report(result, out)
    except OSError as error:
        fail([f"cannot write the report: {reason(error)}"], str(out))
    stderr.print(f"wrote {', '.join(str(p) for p in written[:4])} and {len(written) - 4} charts "
                 f"({result.seconds:,.0f} s)")  # fmt: skip
