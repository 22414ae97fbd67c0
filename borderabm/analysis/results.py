"""What a results store holds, checked before it is summarised: finished runs, their metrics.

Each check raises :class:`~borderabm.experiments.store.StoreError` naming the folder, so every
reader (the ``results``, ``sweep`` and ``compare`` commands) reports a store that cannot be used
in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from borderabm.analysis.compare import HEADLINE_METRICS, Comparison
from borderabm.experiments.store import MANIFEST, RUN_COLUMNS, ResultsStore, StoreError


def finished_runs(store: ResultsStore) -> pd.DataFrame:
    """The finished runs of a results directory, one row per run.

    Raises:
        StoreError: Naming the folder or file: no manifest (not a results directory), a manifest
            or a run row that cannot be read, or no finished runs yet.
    """
    if store.read_manifest() is None:  # typed: a hand-edited key of the wrong type is named
        raise StoreError(f"{store.root}: not a results directory (no {MANIFEST})")
    runs = store.runs()
    if runs.empty:
        raise StoreError(f"{store.root}: runs: no finished runs yet")
    return runs


def summary_metric_names(runs: pd.DataFrame) -> list[str]:
    """The summary metrics the runs hold, sorted (not the run columns, not design parameters)."""
    return sorted(c for c in runs.columns if c not in RUN_COLUMNS and "." not in c)


def unknown_metrics(runs: pd.DataFrame, metrics: Iterable[str]) -> list[str]:
    """The metrics asked for that the runs do not hold, in the order asked."""
    return [m for m in metrics if m not in runs]


def check_metrics_stored(comparison: Comparison, metrics: Sequence[str] = HEADLINE_METRICS) -> None:
    """Check the compared runs hold every metric a comparison shows.

    Raises:
        StoreError: Naming the folder and the missing metrics (runs of other model code).
    """
    missing = unknown_metrics(comparison.runs, metrics)
    if missing:
        raise StoreError(f"{comparison.store.root}: runs: the stored runs lack the metrics "
                         f"{', '.join(missing)} (made by other model code?)")  # fmt: skip


def stored_series(comparison: Comparison) -> pd.DataFrame:
    """The daily series of the compared runs, labelled (see :meth:`Comparison.series`).

    Raises:
        StoreError: Naming a series file that cannot be read, or the folder if the sweep kept no
            series.
    """
    series = comparison.series()
    if series.empty:
        raise StoreError(f"{comparison.store.root}: series: no daily series stored "
                         "(sweep with series = false)")  # fmt: skip
    return series
