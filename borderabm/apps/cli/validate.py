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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from borderabm.analysis.hindcast import HindcastError, held_out_summary, read_numbers
from borderabm.analysis.validation.facts import FACTS
from borderabm.analysis.validation.suite import (
    UnknownFactError,
    check_store,
    make_plan,
    run_validation,
    select_facts,
)
from borderabm.apps.cli.progress import RunProgress
from borderabm.experiments.engines import SchedulerUnreachable, engine_for
from borderabm.experiments.run import prepare_output_dir
from borderabm.experiments.store import StoreError
from borderabm.report.validation import print_results, write_reports

EXIT_ALL_PASS = 0
EXIT_SOME_FAIL = 1


class ValidationInputError(Exception):
    """Bad input for the command, with the problem lines and the source they concern."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        super().__init__("; ".join(problems))


@contextmanager
def _input_error(folder: Path, cannot_write: str, *, store: bool = False) -> Iterator[None]:
    """Report a folder that cannot be used as a :class:`ValidationInputError` naming it.

    Args:
        folder: The output directory or results store.
        cannot_write: What could not be written, for the message ("cannot write ...").
        store: Whether ``folder`` is a results store, whose corrupt manifest (ValueError) or
            foreign runs (StoreError) are bad input too.
    """
    try:
        yield
    except OSError as error:
        raise ValidationInputError(
            [f"cannot write {cannot_write}: {error.strerror or error}"], str(folder)
        ) from None
    except (ValueError, StoreError) as error:
        if not store:
            raise
        raise ValidationInputError([str(error)], str(folder)) from None


def check_output_dir(out: Path) -> None:
    """Create ``out`` and make sure a file can be written there.

    Raises:
        ValidationInputError: If it cannot.
    """
    with _input_error(out, "output directory"):
        prepare_output_dir(out)


def check_store_dir(store: Path) -> None:
    """Make sure a kept results store is usable before anything runs.

    Raises:
        ValidationInputError: If it cannot be written, its manifest is corrupt, or it holds
            another sweep's results or runs made by other model code.
    """
    with _input_error(store, "the results store", store=True):
        check_store(store)


def validate_and_report(
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
    hindcast: Path | None = None,
) -> int:
    """Run the suite and report; return the exit code (0 all pass, 1 a fact fails).

    ``scenarios`` is the folder of the shipped scenarios the facts' arms name. The runs execute
    on ``workers`` local processes, or on the Dask scheduler ``dask`` (``"local"``: a
    LocalCluster of ``workers`` processes on 127.0.0.1).

    Raises:
        ValidationInputError: For bad input, before anything is computed (a ``hindcast`` table
            that cannot be read included); or a Dask scheduler that cannot be reached (source
            ``--dask ADDRESS``).
        borderabm.scenario.ScenarioError: For a fact whose scenario does not validate.
    """
    try:
        facts = select_facts(only, FACTS)
        make_plan(facts, replicates, scenarios, seed, days)  # validates every arm before any run
    except (UnknownFactError, ValueError) as error:
        source = "--only" if isinstance(error, UnknownFactError) else None
        raise ValidationInputError([str(error)], source) from None
    out_of_sample = None
    if hindcast is not None:
        try:
            out_of_sample = held_out_summary(read_numbers(hindcast))
        except HindcastError as error:
            raise ValidationInputError([f"{error.key}: {error.problem}"], error.source) from None
    check_output_dir(out)
    if store is not None:
        check_store_dir(store)
    with RunProgress(stderr, "validation") as progress:
        try:
            run = run_validation(
                facts,
                replicates,
                scenarios=scenarios,
                seed=seed,
                days=days,
                engine=engine_for(workers, dask),
                store_dir=store,
                on_plan=lambda plan, pending: progress.set_total(pending),
                on_done=progress.advance,
            )
        except StoreError as error:
            raise ValidationInputError([str(error)], str(store)) from None
        except SchedulerUnreachable as error:
            kept = f" (finished runs are kept in {store})" if store is not None else ""
            raise ValidationInputError(
                [f"cannot use the Dask scheduler: {error}{kept}"], f"--dask {dask}"
            ) from None
    print_results(run, stdout)
    started = time.perf_counter()
    with _input_error(out, "the report"):
        written = write_reports(run, out, out_of_sample)
    stderr.print(
        f"wrote {', '.join(str(p) for p in written)} "
        f"({run.seconds:,.0f} s; report {time.perf_counter() - started:.1f} s)"
    )
    return EXIT_ALL_PASS if run.all_passed else EXIT_SOME_FAIL
