"""The progress bar of every command that runs many simulations (sweep, validate-model, calibrate)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """A progress bar of runs: what runs, done of total, runs per second, elapsed and remaining time.

    Shown only on a terminal, and transient: in a log, or after a failure, stderr holds only the
    command's own lines. The description is user text (a sweep's name), so it is never read as
    console markup. Use it as a context manager; :meth:`advance` fits ``run_sweep``'s ``on_done``.

    Args:
        console: Where the bar is drawn (stderr).
        description: What runs, e.g. the sweep's name.
        total: Runs to do, if known (see :meth:`set_total`).
        completed: Runs already done before this invocation (resumed from the results store).
    """

    def __init__(self, console: Console, description: str, total: int = 0, completed: int = 0):
        columns = (TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                   MofNCompleteColumn(), TextColumn("{task.fields[rate]:.2f} runs/s"),
                   TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
        self._progress = Progress(*columns, console=console, transient=True,
                                  disable=not console.is_terminal)  # fmt: skip
        self._task: TaskID = self._progress.add_task(description, total=total, completed=completed,
                                                     rate=0.0)  # fmt: skip
        self._done = 0
        self._started = time.perf_counter()

    def __enter__(self) -> RunProgress:
        self._progress.start()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def set_total(self, total: int) -> None:
        """Set the number of runs to do (once they are known)."""
        self._progress.update(self._task, total=total)

    def advance(self, result: Any = None) -> None:
        """Count one finished run (``result`` is ignored: the signature of an ``on_done``)."""
        self._done += 1
        rate = self._done / max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, advance=1, rate=rate)

    def stop(self) -> None:
        """Take the bar off the terminal (before an error line is written)."""
        self._progress.stop()
