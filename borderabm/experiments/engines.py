"""Engines that execute a sweep's runs: in this process, in local worker processes, or on Dask.

Every run is executed by :func:`execute`, which rebuilds the scenario from the run's own document,
runs it and writes its results to the store itself — so the engine only hands out work and counts
what comes back, results do not depend on the engine, and the parent's memory stays flat however
many runs a sweep has. Work is handed out in a bounded window (a few runs per worker in flight).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from borderabm.experiments.store import ResultsStore
from borderabm.experiments.sweep import RunSpec

IN_FLIGHT_PER_WORKER = 2
# glibc malloc: keep freed memory and serve large blocks from the heap. Dask's nanny starts workers
# with MALLOC_TRIM_THRESHOLD_=65536, which also freezes the mmap threshold at 128 KB, so every
# temporary array of a 25,000-agent day (~200 KB) was mmap'ed and unmapped: runs took 5x longer.
MMAP_THRESHOLD_BYTES = 64 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024
_MALLOC_TUNED = False
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.profile.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}

# Per-process cache of worlds and route fields by resolution: built once per worker.
_GEOGRAPHY: dict[tuple[float, float], tuple[Any, Any]] = {}


def execute(run: RunSpec, store_root: str, keep_series: bool) -> dict[str, Any]:
    """Run one sweep run and store its results; return its id and wall time."""
    from borderabm.model import BorderModel
    from borderabm.scenario import validate_document

    tune_malloc()
    start = time.perf_counter()
    settings = validate_document(run.document, f"run {run.run_id}")
    world, routes = geography(settings)
    model = BorderModel(settings, world=world, routes=routes)
    model.run()
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "scenario": run.scenario,
        "point": run.point,
        "replicate": run.replicate,
        "seed": run.seed,
    }
    row.update({k: v for k, v in run.overrides.items() if k not in ("seed", "horizon_days")})
    row.update(model.summary())
    series = model.timeseries() if keep_series else None
    ResultsStore(store_root).write_run(run.run_id, row, series, run.scenario, run.point)
    return {"run_id": run.run_id, "seconds": time.perf_counter() - start}


def tune_malloc() -> None:
    """Once per process: stop glibc returning every large temporary array to the system."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameters from <malloc.h>
    libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD_BYTES)
    libc.mallopt(m_trim_threshold, TRIM_THRESHOLD_BYTES)


def geography(settings):
    """The world and route fields for a scenario's map, built (or loaded) once per process."""
    from borderabm.world import build_world
    from borderabm.world.routes import build_routes

    key = (settings.map.resolution_km, settings.map.buffer_km)
    if key not in _GEOGRAPHY:
        world = build_world(*key)
        _GEOGRAPHY[key] = (world, build_routes(world))
    return _GEOGRAPHY[key]


def default_workers() -> int:
    """Worker processes by default: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_in_process(
    runs: list[RunSpec], store: ResultsStore, keep_series: bool, on_done: Callable[[dict], None]
) -> None:
    """Execute runs one after another in this process."""
    for run in runs:
        on_done(execute(run, str(store.root), keep_series))


def run_local(
    runs: list[RunSpec],
    store: ResultsStore,
    keep_series: bool,
    on_done: Callable[[dict], None],
    workers: int,
) -> None:
    """Execute runs in ``workers`` local processes (spawned, so each starts clean)."""
    if workers <= 1:
        run_in_process(runs, store, keep_series, on_done)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        submit = lambda run: pool.submit(execute, run, str(store.root), keep_series)  # noqa: E731
        for result in _windowed(runs, submit, workers * IN_FLIGHT_PER_WORKER):
            on_done(result)


def _windowed(
    runs: Iterable[RunSpec], submit: Callable[[RunSpec], Future], window: int
) -> Iterator[dict]:
    """Keep at most ``window`` runs in flight; yield results as they finish."""
    pending: set[Future] = set()
    for run in runs:
        pending.add(submit(run))
        if len(pending) >= window:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()


def run_dask(
    runs: list[RunSpec],
    store: ResultsStore,
    keep_series: bool,
    on_done: Callable[[dict], None],
    address: str,
    workers: int,
) -> None:
    """Execute runs on a Dask cluster: an existing scheduler, or ``"local"`` for a LocalCluster.

    A LocalCluster binds every port (scheduler, workers, dashboard) to 127.0.0.1. On a real cluster
    the workers must see the results directory (a shared file system) and have borderabm installed.
    """
    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        # On a small machine every background thread competes with the runs: switch off the
        # workers' statistical profiler (a sample every 10 ms) and memory monitoring (runs are
        # small and bounded), which cost ~5-15% of throughput on two cores.
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                memory_limit=0,
                # Workers log heartbeat errors while the cluster shuts down; they mean nothing.
                silence_logs=logging.CRITICAL,
            )
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        window = max(len(client.scheduler_info().get("workers", {})), 1) * IN_FLIGHT_PER_WORKER
        queue = iter(runs)
        futures = as_completed()
        for run in _take(queue, window):
            futures.add(client.submit(execute, run, str(store.root), keep_series, pure=False))
        for future in futures:
            on_done(future.result())
            future.release()
            for run in _take(queue, 1):
                futures.add(client.submit(execute, run, str(store.root), keep_series, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _take(iterator: Iterator[RunSpec], count: int) -> list[RunSpec]:
    taken = []
    for _ in range(count):
        try:
            taken.append(next(iterator))
        except StopIteration:
            break
    return taken
