"""``borderabm discover``: find the boxes of a sweep's results, print them, write the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from borderabm.analysis.discovery import Discovery, DiscoveryError, discover
from borderabm.experiments.run import prepare_output_dir
from borderabm.experiments.store import ResultsStore
from borderabm.report.discovery import print_discovery, write_outputs


def discover_and_report(
    sweep_dir: Path,
    metric: str,
    threshold: float,
    *,
    below: bool,
    scenario: str | None,
    relative_to: str | None,
    unit: str,
    out: Path | None,
    console: Console,
    **prim_settings: Any,
) -> Discovery:
    """Print the boxes, then write the files if ``out`` is given.

    Args:
        sweep_dir: A results directory written by ``borderabm sweep``.
        metric: The summary metric.
        threshold: Cases of interest have the outcome above it (at or below it with ``below``).
        below: Look for outcome <= threshold instead of > threshold.
        scenario: See :func:`~borderabm.analysis.discovery.load_cases`.
        relative_to: See :func:`~borderabm.analysis.discovery.load_cases`.
        unit: See :func:`~borderabm.analysis.discovery.load_cases`.
        out: Where to write ``boxes.csv``, ``trajectory.csv``/``.png`` and ``discovery.md``.
        console: Where the boxes are printed.
        **prim_settings: Passed to :func:`~borderabm.analysis.prim.prim`.

    Raises:
        DiscoveryError: For unusable input (see :func:`~borderabm.analysis.discovery.discover`),
            or an ``out`` that cannot be written (checked before computing, and reported after
            printing if writing fails).
    """
    if out is not None:
        try:
            prepare_output_dir(out)
        except OSError as error:
            raise _cannot_write(error, out) from None
    found = discover(ResultsStore(sweep_dir), metric, threshold, below=below, scenario=scenario,
                     relative_to=relative_to, unit=unit, **prim_settings)  # fmt: skip
    print_discovery(found, console)
    if out is not None:
        try:
            written = write_outputs(found, out)
        except OSError as error:  # the boxes are printed above, so nothing is lost
            raise _cannot_write(error, out) from None
        console.print("\nwrote " + ", ".join(str(p) for p in written))
    return found


def _cannot_write(error: OSError, out: Path) -> DiscoveryError:
    return DiscoveryError(f"cannot write outputs: {error.strerror or error}", str(out))
