"""Engines that run many runs: in this process, in local worker processes, or on a Dask cluster.

Every engine is an :class:`Engine`, in the manner of the EMA Workbench's evaluators: the sweep, the
comparison, the sensitivity analysis, the calibration and the validation suite hand it their runs
and do not care where they execute. :func:`engine_for` picks one from the command-line options
(``--workers``, ``--dask``).

An engine maps a function over items and yields the results as they finish
(:meth:`Engine.map_unordered`); :func:`run_into_store` is the common use: each run is executed by
:func:`run_and_store`, which rebuilds the scenario from the run's own document, runs it and writes
its results to the store itself. So the engine only hands out work and counts what comes back,
results do not depend on the engine, and the parent's memory stays flat however many runs a sweep
has. Work is handed out in a bounded window (a few items per worker in flight).

An engine may be used as a context manager: its worker processes (or its Dask cluster) are then
started once, at the first item, and kept until the ``with`` block ends, so work handed out in
several batches (the validation suite's two kinds of runs, a calibration's two waves) starts them
once. Used without ``with``, each call starts and stops its own.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from functools import partial
from typing import Any, Protocol, Self, runtime_checkable

from borderabm.experiments.run import RunSpec, run_one
from borderabm.experiments.store import ResultsStore

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


class SchedulerUnreachable(OSError):
    """The Dask scheduler could not be reached (or was lost): no file is involved.

    An ``OSError``, as Dask raises it, so callers that caught those keep doing so; the type tells
    it apart from a file that cannot be written.
    """


@runtime_checkable
class Engine(Protocol):
    """Where runs execute: maps a function over items and yields results as they finish.

    The function and the items must be picklable (a module-level function, or a
    ``functools.partial`` of one), as other processes may run them.
    """

    @property
    def workers(self) -> int:
        """How many runs execute at once."""
        ...

    def map_unordered[Item, Result](
        self, function: Callable[[Item], Result], items: Iterable[Item]
    ) -> Iterator[Result]:
        """``function(item)`` for every item, yielded as each finishes (in any order).

        Raises:
            Exception: Whatever ``function`` raised for an item, when that result is reached.
            SchedulerUnreachable: If a Dask scheduler cannot be reached.
        """
        ...

    def __enter__(self) -> Self:
        """Keep the workers (or the cluster) until the ``with`` block ends."""
        ...

    def __exit__(self, *exc_info: object) -> None:
        """Stop the workers (or the cluster)."""
        ...


def default_workers() -> int:
    """Worker processes by default: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def engine_for(workers: int | None = None, dask: str | None = None) -> Engine:
    """The engine the command-line options ask for.

    Args:
        workers: Local worker processes (the cores this process may use if None); one runs in
            this process. With ``dask="local"``, the workers of the LocalCluster.
        dask: A Dask scheduler address (``tcp://host:8786``), or ``"local"`` for a LocalCluster
            on this machine; None for local processes.
    """
    if dask:
        return Dask(dask, workers)
    count = workers or default_workers()
    return InProcess() if count <= 1 else LocalProcesses(count)


class _Engine:
    """What every engine shares: ``with`` keeps its resources; without it, each call starts them."""

    def __init__(self) -> None:
        self._depth = 0

    def __enter__(self) -> Self:
        self._depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.close()

    def close(self) -> None:
        """Stop what the engine started (nothing for an engine without resources)."""

    def map_unordered[Item, Result](
        self, function: Callable[[Item], Result], items: Iterable[Item]
    ) -> Iterator[Result]:
        """See :meth:`Engine.map_unordered`."""
        try:
            yield from self._map(partial(_call_tuned, function), items)
        finally:
            if self._depth == 0:
                self.close()

    def _map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        raise NotImplementedError


class InProcess(_Engine):
    """Runs one after another in this process (the browser's comparisons; ``--workers 1``)."""

    @property
    def workers(self) -> int:
        """One: this process."""
        return 1

    def _map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield function(item)

    def __repr__(self) -> str:
        return "InProcess()"


class LocalProcesses(_Engine):
    """Runs in ``workers`` local processes, spawned so that each starts clean."""

    def __init__(self, workers: int) -> None:
        """Create the engine; the processes start with the first item.

        Args:
            workers: How many processes (at least one).
        """
        super().__init__()
        self._workers = max(int(workers), 1)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        """The number of worker processes."""
        return self._workers

    def _map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=context)
        pool: Executor = self._pool

        def submit(item: Any) -> Future:
            return pool.submit(function, item)

        yield from _windowed(items, submit, self._workers * IN_FLIGHT_PER_WORKER)

    def close(self) -> None:
        """Stop the worker processes (runs not started yet are cancelled)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"LocalProcesses({self._workers})"


class Dask(_Engine):
    """Runs on a Dask cluster: an existing scheduler, or ``"local"`` for a LocalCluster.

    A LocalCluster binds every port (scheduler, workers, dashboard) to 127.0.0.1. On a real cluster
    the workers must see the results directory (a shared file system) and have borderabm installed.
    """

    def __init__(self, address: str = "local", workers: int | None = None) -> None:
        """Create the engine; the cluster is started (or the scheduler reached) at the first item.

        Args:
            address: A scheduler address (``tcp://host:8786``), or ``"local"``.
            workers: Worker processes of a LocalCluster (the cores this process may use if None);
                a remote cluster has its own.
        """
        super().__init__()
        self.address = address
        self._local_workers = workers or default_workers()
        self._seen_workers = 0  # the cluster's workers when last reached
        self._cluster: Any = None
        self._client: Any = None

    @property
    def workers(self) -> int:
        """The cluster's workers when it was last reached; before that, the LocalCluster's."""
        return self._seen_workers or self._local_workers

    def _connect(self) -> Any:
        import dask
        from distributed import Client, LocalCluster

        if self._client is not None:
            return self._client
        if self.address == "local":
            # On a small machine every background thread competes with the runs: switch off the
            # workers' statistical profiler (a sample every 10 ms) and memory monitoring (runs are
            # small and bounded), which cost ~5-15% of throughput on two cores.
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self._cluster = LocalCluster(
                    n_workers=self._local_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    memory_limit=0,
                    # Workers log heartbeat errors while the cluster shuts down; they mean nothing.
                    silence_logs=logging.CRITICAL,
                )
            self._client = Client(self._cluster)
        else:
            self._client = Client(self.address)
        return self._client

    def _map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed

        queue = iter(items)
        first = _take(queue, 1)
        if not first:
            return  # nothing to do: no cluster started, no scheduler contacted
        try:
            client = self._connect()
            self._seen_workers = len(client.scheduler_info().get("workers", {}))
            window = max(self._seen_workers, 1) * IN_FLIGHT_PER_WORKER
            futures = as_completed()
            for item in first + _take(queue, window - 1):
                futures.add(client.submit(function, item, pure=False))
            for future in futures:
                result = future.result()
                future.release()
                for item in _take(queue, 1):
                    futures.add(client.submit(function, item, pure=False))
                yield result
        except SchedulerUnreachable:
            raise
        except OSError as error:
            if error.errno is None and error.filename is None:  # the scheduler, not a file
                raise SchedulerUnreachable(str(error)) from error
            raise

    def close(self) -> None:
        """Close the client, and the LocalCluster if this engine started one."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __repr__(self) -> str:
        return f"Dask({self.address!r})"


def run_into_store(
    engine: Engine,
    runs: Sequence[RunSpec],
    store: ResultsStore,
    *,
    keep_series: bool,
    on_done: Callable[[dict[str, Any]], None] = lambda result: None,
) -> None:
    """Execute runs on an engine; each stores its own row (and series) in ``store``.

    Args:
        engine: Where the runs execute.
        runs: The runs.
        store: The results store they write to (its folder must be reachable by the workers).
        keep_series: Store each run's daily series too.
        on_done: Called with ``{"run_id", "seconds"}`` after each run, in the order they finish.
    """
    task = partial(run_and_store, store_root=str(store.root), keep_series=keep_series)
    for result in engine.map_unordered(task, runs):
        on_done(result)


def run_and_store(run: RunSpec, store_root: str, keep_series: bool) -> dict[str, Any]:
    """Run one run of a sweep and store its row (and series); return its id and wall time."""
    start = time.perf_counter()
    result = run_one(run)
    series = result.timeseries if keep_series else None
    ResultsStore(store_root).write_run(run.run_id, run.row(result.summary), series, run.scenario,
                                       run.point)  # fmt: skip
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


def _call_tuned[Item, Result](function: Callable[[Item], Result], item: Item) -> Result:
    """``function(item)`` in a process whose malloc is tuned for runs (see :func:`tune_malloc`)."""
    tune_malloc()
    return function(item)


def _windowed(items: Iterable[Any], submit: Callable[[Any], Future], window: int) -> Iterator[Any]:
    """Keep at most ``window`` items in flight; yield results as they finish."""
    pending: set[Future] = set()
    for item in items:
        pending.add(submit(item))
        if len(pending) >= window:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()


def _take(iterator: Iterator[Any], count: int) -> list[Any]:
    taken = []
    for _ in range(count):
        try:
            taken.append(next(iterator))
        except StopIteration:
            break
    return taken
