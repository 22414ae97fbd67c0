"""The Engine interface: every engine gives the same rows, keeps its workers within a ``with``."""

from __future__ import annotations

import os

import dask
import pandas as pd
import pytest

from borderabm.experiments.engines import (
    Dask,
    Engine,
    InProcess,
    LocalProcesses,
    SchedulerUnreachable,
    default_workers,
    engine_for,
    run_into_store,
)
from borderabm.experiments.run import RunSpec
from borderabm.experiments.store import ResultsStore, StoreError
from borderabm.experiments.sweep import comparison_sweep, run_sweep
from borderabm.scenario import load_scenario, resolve_scenario_path

DAYS = 4


@pytest.fixture(scope="module")
def three_runs() -> list[RunSpec]:
    """Three different runs: two scenarios, two seeds."""
    runs = []
    for name, seed in (("baseline", 1), ("baseline", 2), ("fence_full", 1)):
        settings = load_scenario(resolve_scenario_path(name), {"seed": seed, "horizon_days": DAYS})
        runs.append(RunSpec.of_scenario(settings, 0, seed - 1, {}))
    return runs


def test_every_engine_gives_identical_rows_and_series(three_runs, tmp_path):
    engines = {"in_process": InProcess(), "processes": LocalProcesses(2),
               "dask": Dask("local", workers=2)}  # fmt: skip
    stores = {}
    for name, engine in engines.items():
        assert isinstance(engine, Engine)
        store = ResultsStore(tmp_path / name)
        finished = []
        run_into_store(engine, three_runs, store, keep_series=True, on_done=finished.append)
        assert sorted(r["run_id"] for r in finished) == sorted(r.run_id for r in three_runs)
        stores[name] = store

    def sorted_series(store: ResultsStore) -> pd.DataFrame:
        return store.series().sort_values(["run_id", "day"]).reset_index(drop=True)

    reference = stores["in_process"].runs()
    assert len(reference) == 3 and reference["attacks"].notna().all()
    assert reference["seed"].tolist() == [1, 2, 1]
    assert len(sorted_series(stores["in_process"])) == 3 * DAYS
    for name in ("processes", "dask"):
        pd.testing.assert_frame_equal(stores[name].runs(), reference)
        pd.testing.assert_frame_equal(sorted_series(stores[name]),
                                      sorted_series(stores["in_process"]))  # fmt: skip


def test_engine_for_follows_the_command_line_options():
    assert isinstance(engine_for(1), InProcess)
    assert isinstance(engine_for(3), LocalProcesses) and engine_for(3).workers == 3
    assert engine_for(None).workers == default_workers()
    local = engine_for(2, "local")
    assert isinstance(local, Dask) and local.address == "local" and local.workers == 2
    remote = engine_for(None, "tcp://10.0.0.1:8786")
    assert isinstance(remote, Dask) and remote.address == "tcp://10.0.0.1:8786"


def _pid(_item) -> int:
    return os.getpid()


def test_a_with_block_keeps_one_set_of_worker_processes():
    engine = LocalProcesses(2)
    with engine:
        first = set(engine.map_unordered(_pid, range(6)))
        second = set(engine.map_unordered(_pid, range(6)))
    assert os.getpid() not in first
    assert len(first | second) <= 2  # the same two processes served both calls
    third = set(engine.map_unordered(_pid, range(4)))  # outside: a pool of its own
    assert not third & (first | second)


def test_in_process_runs_here_and_stops_when_the_caller_stops():
    seen = []

    def record(item: int) -> int:
        seen.append(item)
        return item

    results = InProcess().map_unordered(record, range(10))
    assert [next(results), next(results)] == [0, 1]
    results.close()
    assert seen == [0, 1]  # nothing ran past what was asked for
    assert set(InProcess().map_unordered(_pid, range(2))) == {os.getpid()}


def test_an_unreachable_scheduler_is_its_own_error_and_nothing_is_written(tmp_path):
    sweep = comparison_sweep([resolve_scenario_path("baseline"),
                              resolve_scenario_path("no_fence")], 1, 1, 2)  # fmt: skip
    store = ResultsStore(tmp_path / "store")
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(SchedulerUnreachable) as caught,
    ):
        run_sweep(sweep, store, engine=Dask("tcp://127.0.0.1:1"))
    assert isinstance(caught.value, OSError) and not isinstance(caught.value, StoreError)
    assert store.done() == set()
    assert store.read_manifest() is not None and store.read_manifest().finished is None


def test_no_runs_contact_no_scheduler(tmp_path):
    # Nothing pending: an address nobody listens on is never tried.
    engine = Dask("tcp://127.0.0.1:1")
    assert list(engine.map_unordered(_pid, [])) == []
    run_into_store(engine, [], ResultsStore(tmp_path / "s"), keep_series=False)


def test_calibration_runs_give_the_same_results_on_worker_processes():
    from borderabm.analysis.calibration.runs import simulate
    from borderabm.analysis.calibration.spec import REFUGEE_STOCK

    settings = load_scenario(resolve_scenario_path("baseline"), {"horizon_days": DAYS})
    here = simulate(settings, [5, 6, 7], derived=True)
    there = simulate(settings, [5, 6, 7], derived=True, engine=LocalProcesses(2))
    for (summary, series), (summary_there, series_there) in zip(here, there, strict=True):
        assert pd.Series(summary).equals(pd.Series(summary_there))
        pd.testing.assert_frame_equal(series, series_there)
        assert len(series[REFUGEE_STOCK]) == DAYS and (series[REFUGEE_STOCK] > 0).all()
    ((alone, _),) = simulate(settings, [6])
    assert pd.Series(alone).equals(pd.Series(there[1][0]))  # results come back in seed order
    assert not pd.Series(alone).equals(pd.Series(there[0][0]))
