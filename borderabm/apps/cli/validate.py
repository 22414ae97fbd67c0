"""``borderabm validate-model``: run the suite, print the table, write the report, set the exit code.

Bad input (an unknown fact id, too few replicates, an output directory that cannot be written, a
results store that cannot be written, is corrupt, or holds another sweep's runs or runs of other
model code) raises :class:`ValidationInputError` before anything is computed, and so does a Dask
scheduler that cannot be reached (runs finished before it was lost stay in the store);
the CLI turns it into ``error:`` lines and exit code 2. The table is printed before the report files
are written, so a failure to write them loses nothing already computed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from borderabm.analysis.validation.facts import FACTS
from borderabm.analysis.validation.suite import (
    UnknownFactError,
    ValidationRun,
    check_store,
    make_plan,
    run_validation,
    select_facts,
)
from borderabm.experiments.engines import SchedulerUnreachable, engine_for
from borderabm.experiments.run import prepare_output_dir
from borderabm.experiments.store import StoreError
from borderabm.report.validation import headline, table_rows, write_reports

EXIT_ALL_PASS = 0
EXIT_SOME_FAIL = 1


class ValidationInputError(Exception):
    """Bad input for the command, with the problem lines and the source they concern."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        super().__init__("; ".join(problems))


def check_output_dir(out: Path) -> None:
    """Create ``out`` and make sure a file can be written there.

    Raises:
        ValidationInputError: If it cannot.
    """
    try:
        prepare_output_dir(out)
    except OSError as error:
        raise ValidationInputError(
            [f"cannot write output directory: {error.strerror or error}"], str(out)
        ) from None


def check_store_dir(store: Path) -> None:
    """Make sure a kept results store is usable before anything runs.

    Raises:
        ValidationInputError: If it cannot be written, its manifest is corrupt, or it holds
            another sweep's results or runs made by other model code.
    """
    try:
        check_store(store)
    except OSError as error:
        raise ValidationInputError(
            [f"cannot write the results store: {error.strerror or error}"], str(store)
        ) from None
    except (ValueError, StoreError) as error:
        raise ValidationInputError([str(error)], str(store)) from None


def command(
    *,
    replicates: int,
    days: int | None,
    workers: int | None,
    only: Sequence[str] | None,
    out: Path,
    seed: int,
    store: Path | None,
    scenarios: Path,
    stdout: Console,
    stderr: Console,
    dask: str | None = None,
) -> int:
    """Run the suite and report; return the exit code (0 all pass, 1 a fact fails).

    ``scenarios`` is the folder of the shipped scenarios the facts' arms name. The runs execute
    on ``workers`` local processes, or on the Dask scheduler ``dask`` (``"local"``: a
    LocalCluster of ``workers`` processes on 127.0.0.1).

    Raises:
        ValidationInputError: For bad input, before anything is computed; or a Dask scheduler
            that cannot be reached (source ``--dask ADDRESS``).
        borderabm.scenario.ScenarioError: For a fact whose scenario does not validate.
    """
    try:
        facts = select_facts(only, FACTS)
        make_plan(facts, replicates, scenarios, seed, days)  # validates every arm before any run
    except (UnknownFactError, ValueError) as error:
        source = "--only" if isinstance(error, UnknownFactError) else None
        raise ValidationInputError([str(error)], source) from None
    check_output_dir(out)
    if store is not None:
        check_store_dir(store)

    columns = (TextColumn("[bold]validation"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=stderr, transient=True,
                  disable=not stderr.is_terminal) as progress:  # fmt: skip
        task = progress.add_task("runs", total=0)

        def on_plan(plan, pending: int) -> None:
            progress.update(task, total=pending)

        try:
            run = run_validation(
                facts,
                replicates,
                scenarios=scenarios,
                seed=seed,
                days=days,
                engine=engine_for(workers, dask),
                store_dir=store,
                on_plan=on_plan,
                on_done=lambda result: progress.advance(task),
            )
        except StoreError as error:
            raise ValidationInputError([str(error)], str(store)) from None
        except SchedulerUnreachable as error:
            kept = f" (finished runs are kept in {store})" if store is not None else ""
            raise ValidationInputError(
                [f"cannot use the Dask scheduler: {error}{kept}"], f"--dask {dask}"
            ) from None
    print_table(run, stdout)
    started = time.perf_counter()
    try:
        written = write_reports(run, out)
    except OSError as error:
        raise ValidationInputError(
            [f"cannot write the report: {error.strerror or error}"], str(out)
        ) from None
    stderr.print(
        f"wrote {', '.join(str(p) for p in written)} "
        f"({run.seconds:,.0f} s; report {time.perf_counter() - started:.1f} s)"
    )
    return EXIT_ALL_PASS if run.all_passed else EXIT_SOME_FAIL


def print_table(run: ValidationRun, console: Console) -> None:
    """The results table (one row per fact) and the headline."""
    rows = table_rows(run)
    seeds = run.seeds
    table = Table(
        title=f"Stylized facts and mechanism checks — {run.replicates} paired replicates "
        f"(seeds {seeds[0]}–{seeds[-1]}), one-sided Wilcoxon signed-rank test at 95%"
    )
    styles = {"PASS": "green", "FAIL": "bold red"}
    for column in rows[0] if rows else []:
        table.add_column(
            column, justify="left" if column in ("fact", "kind", "result") else "right"
        )
    for row in rows:
        style = styles.get(row["result"], "yellow")
        cells = list(row.values())
        cells[-1] = f"[{style}]{row['result']}[/]"
        table.add_row(*cells)
    Console(width=max(console.width, 170), file=console.file).print(table)
    console.print(headline(run))
