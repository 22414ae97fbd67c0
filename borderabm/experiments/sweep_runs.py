"""Run a sweep into its results store, resuming where an earlier attempt stopped."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from borderabm.analysis.compare import HEADLINE_METRICS, level_interval
from borderabm.experiments import engines
from borderabm.experiments.store import ResultsStore, environment, now, write_failure
from borderabm.experiments.sweep import Sweep


def manifest_for(sweep: Sweep) -> dict:
    """What the results directory records about the sweep (the fingerprint decides resumption)."""
    spec = sweep.spec
    return {
        "fingerprint": sweep.source_sha256
        + "|"
        + "|".join(f"{n}:{h}" for n, (_, h) in sorted(sweep.scenario_files.items())),
        "sweep": {"name": spec.name, "file": str(sweep.source), "sha256": sweep.source_sha256},
        "scenarios": {n: {"file": f, "sha256": h} for n, (f, h) in sweep.scenario_files.items()},
        "design": {
            "kind": spec.design.kind,
            "samples": spec.design.samples,
            "parameters": {k: v.model_dump() for k, v in spec.parameters.items()},
            "points": sweep.points,
        },
        "replicates": spec.replicates,
        "seeds": [spec.seed + k for k in range(spec.replicates)],
        "days": spec.days,
        "runs": len(sweep.runs),
        "environment": environment(),
        "started": now(),
        "finished": None,
    }


def run_sweep(
    sweep: Sweep,
    store: ResultsStore,
    *,
    workers: int,
    dask: str | None = None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> int:
    """Execute the runs not yet in the store; return how many were executed.

    Raises:
        StoreError: If the store holds another sweep or is corrupt, or a file cannot be written
            (full disk, no permission): the runs finished before stay stored, and the same call
            resumes from them.
        OSError: Only for a Dask scheduler that cannot be reached (no file involved).
    """
    manifest = manifest_for(sweep)
    try:
        store.open_for(manifest)
        done = store.done()
        pending = [run for run in sweep.runs if run.run_id not in done]
        keep_series = sweep.spec.series
        if pending:
            if dask:
                engines.run_dask(pending, store, keep_series, on_done, dask, workers)
            else:
                engines.run_local(pending, store, keep_series, on_done, workers)
        stored = store.manifest() or manifest
        store.write_manifest({**stored, "finished": now(), "executed_last": len(pending)})
    except OSError as error:
        if dask and error.errno is None and error.filename is None:
            raise  # the scheduler, not a file: callers say so
        raise write_failure(error, store.root) from None
    return len(pending)


def summarise(runs: pd.DataFrame, metrics: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Mean and 95% interval of each metric per scenario and design point."""
    if runs.empty:
        return pd.DataFrame()
    metrics = [m for m in (metrics or HEADLINE_METRICS) if m in runs]
    fixed = {"run_id", "scenario", "point", "replicate", "seed"}
    parameters = [c for c in runs.columns if "." in c and c not in fixed and c not in metrics
                  and not runs[c].isna().all()]  # fmt: skip
    rows = []
    for (scenario, point), group in runs.groupby(["scenario", "point"], sort=True):
        row = {"scenario": scenario, "point": int(point), "replicates": len(group)}
        row.update({p: group[p].iloc[0] for p in parameters if p in group})
        for metric in metrics:
            level = level_interval(group[metric])
            row |= {metric: level.mean, f"{metric}_low": level.low, f"{metric}_high": level.high}
        rows.append(row)
    return pd.DataFrame(rows)
