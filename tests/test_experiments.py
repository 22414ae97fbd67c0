"""Sweeps: designs, expansion, the results store, engines (local, Dask) and crash-safe resumption."""

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.analysis.compare import point_table
from borderabm.apps.cli.main import app
from borderabm.experiments.designs import Parameter, from_unit, generate
from borderabm.experiments.store import ResultsStore, StoreError
from borderabm.experiments.sweep import load_sweep, run_sweep
from borderabm.scenario import ScenarioError, resolve_relative

runner = CliRunner()

SMALL = """
name = "small"
scenarios = ["baseline", "trade_corridor"]
replicates = 2
days = 20
metrics = ["attacks", "formal_trade_usd"]

[design]
kind = "factorial"

[parameters."fence.coverage"]
levels = [0.5, 1.0]
"""


@pytest.fixture()
def small_sweep(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def borderabm_exe():
    return os.path.join(os.path.dirname(sys.executable), "borderabm")


# Designs -------------------------------------------------------------------------------------
def test_factorial_is_every_combination():
    points = generate(
        "factorial", [Parameter("a", levels=(1, 2, 3)), Parameter("b", levels=(True, False))], 0, 0
    )
    assert len(points) == 6
    assert {(p["a"], p["b"]) for p in points} == {(a, b) for a in (1, 2, 3) for b in (True, False)}


def test_latin_hypercube_is_stratified_in_every_dimension():
    params = [Parameter("x", low=0.0, high=1.0), Parameter("n", low=100, high=900, integer=True)]
    points = generate("lhs", params, 20, seed=4)
    xs = np.array([p["x"] for p in points])
    assert sorted(np.floor(xs * 20).astype(int)) == list(range(20))  # one point per stratum
    assert all(isinstance(p["n"], int) and 100 <= p["n"] <= 900 for p in points)
    assert generate("lhs", params, 20, seed=4) == points
    assert generate("lhs", params, 20, seed=5) != points


def test_sobol_and_morris_sizes_and_bounds():
    params = [Parameter("a", low=0.0, high=1.0), Parameter("b", low=10.0, high=20.0)]
    sobol = generate("sobol", params, 8, seed=1)
    assert len(sobol) == 8 * (2 + 2)  # Saltelli without second order: N (D + 2)
    assert all(10.0 <= p["b"] <= 20.0 for p in sobol)
    morris = generate("morris", params, 5, seed=1)
    assert len(morris) == 5 * (2 + 1)  # trajectories of D + 1 points
    # Consecutive points of a trajectory differ in exactly one parameter.
    first = morris[:3]
    for before, after in zip(first, first[1:], strict=False):
        assert sum(before[k] != after[k] for k in ("a", "b")) == 1


def test_designs_reject_the_wrong_kind_of_parameter():
    with pytest.raises(ValueError, match="factorial designs need 'levels'"):
        generate("factorial", [Parameter("a", low=0.0, high=1.0)], 0, 0)
    with pytest.raises(ValueError, match="lhs designs need 'low' and 'high'"):
        generate("lhs", [Parameter("a", levels=(1, 2))], 4, 0)
    with pytest.raises(ValueError, match="a needs 'low' and 'high'"):
        from_unit([Parameter("a", levels=(1, 2))], np.zeros((1, 1)))


# Sweep files -----------------------------------------------------------------------------------
def test_sweep_expands_on_common_seeds(small_sweep):
    sweep = load_sweep(small_sweep, resolve_relative)
    assert len(sweep.runs) == 2 * 2 * 2
    assert len({r.run_id for r in sweep.runs}) == len(sweep.runs)
    for replicate in (0, 1):
        seeds = {r.seed for r in sweep.runs if r.replicate == replicate}
        assert seeds == {1 + replicate}  # replicate k has the same seed everywhere
    again = load_sweep(small_sweep, resolve_relative)
    assert [r.run_id for r in again.runs] == [r.run_id for r in sweep.runs]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'scenarios = ["baseline"]\nreplicats = 3\n',
            "replicats: unknown key; did you mean 'replicates'",
        ),
        (
            'scenarios = ["baseline"]\n[parameters."fence.coverge"]\nlevels = [1.0]\n',
            "fence.coverge: unknown key; did you mean 'coverage'",
        ),
        (
            'scenarios = ["baseline"]\n[parameters."fence.coverage"]\nlevels = [2.0]\n',
            "fence.coverage: 2.0 is out of range",
        ),
        (
            'scenarios = ["baseline"]\n[design]\nkind = "lhs"\n[parameters."fence.coverage"]\n'
            "levels = [1.0]\n",
            "lhs designs need 'low' and 'high'",
        ),
        (
            'scenarios = ["nowhere"]\n',
            "nowhere: not a scenario file or a shipped scenario (allowed: baseline, ",
        ),
        ("scenarios = [\n", "TOML syntax error"),
    ],
)
def test_bad_sweep_files_exit_2_naming_file_and_key(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = subprocess.run([borderabm_exe(), "sweep", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert expected in " ".join(done.stderr.split())


# Store and engines ----------------------------------------------------------------------------
def test_engines_give_identical_results(small_sweep, tmp_path):
    sweep = load_sweep(small_sweep, resolve_relative)
    stores = {}
    for name, kwargs in {"one": {"workers": 1}, "two": {"workers": 2},
                         "dask": {"workers": 2, "dask": "local"}}.items():  # fmt: skip
        store = ResultsStore(tmp_path / name)
        assert run_sweep(sweep, store, **kwargs) == len(sweep.runs)
        stores[name] = store
    reference = stores["one"].runs()
    assert len(reference) == len(sweep.runs)
    for name in ("two", "dask"):
        pd.testing.assert_frame_equal(stores[name].runs(), reference)
        series = stores[name].series().sort_values(["run_id", "day"]).reset_index(drop=True)
        expected = stores["one"].series().sort_values(["run_id", "day"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(series, expected)


def test_store_is_readable_with_plain_tools_and_rerun_computes_nothing(small_sweep, tmp_path):
    sweep = load_sweep(small_sweep, resolve_relative)
    store = ResultsStore(tmp_path / "out")
    run_sweep(sweep, store, workers=1)
    runs = pd.read_parquet(tmp_path / "out" / "runs")
    assert len(runs) == len(sweep.runs) and runs["run_id"].is_unique
    assert {"fence.coverage", "attacks", "formal_trade_usd", "seed"} <= set(runs.columns)
    total = duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'out' / 'runs'}/*.parquet'").fetchall()
    assert total[0][0] == len(sweep.runs)
    one_point = store.series("baseline", 0)
    assert set(one_point["run_id"]) == {r.run_id for r in sweep.runs
                                        if r.scenario == "baseline" and r.point == 0}  # fmt: skip
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["replicates"] == 2 and manifest["seeds"] == [1, 2]
    assert set(manifest["scenarios"]) == {"baseline", "trade_corridor"}
    assert manifest["environment"]["mesa"] == "3.5.1" and manifest["finished"]
    assert run_sweep(sweep, store, workers=1) == 0  # nothing left to compute
    summary = point_table(store.runs(), ["attacks"])
    assert len(summary) == 4 and (summary["replicates"] == 2).all()


def test_a_directory_of_another_sweep_is_refused(small_sweep, tmp_path):
    store = ResultsStore(tmp_path / "out")
    run_sweep(load_sweep(small_sweep, resolve_relative), store, workers=1)
    other = tmp_path / "other.toml"
    other.write_text(SMALL.replace("replicates = 2", "replicates = 3"))
    with pytest.raises(StoreError, match="different sweep"):
        run_sweep(load_sweep(other, resolve_relative), store, workers=1)


def test_killed_sweep_resumes_to_the_same_results(tmp_path):
    sweep_file = tmp_path / "kill.toml"
    sweep_file.write_text(SMALL.replace("replicates = 2", "replicates = 4").replace(
        "days = 20", "days = 60"))  # fmt: skip
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    process = subprocess.Popen(
        [borderabm_exe(), "sweep", str(sweep_file), "--out", str(killed), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(ResultsStore(killed).done()) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    interrupted = len(ResultsStore(killed).done())
    total = len(load_sweep(sweep_file, resolve_relative).runs)
    assert 3 <= interrupted < total, "the kill should land mid-sweep"
    # Whatever was on disk at the kill is readable: no half-written tables.
    assert len(pd.read_parquet(killed / "runs")) == interrupted

    resumed = runner.invoke(app, ["sweep", str(sweep_file), "--out", str(killed), "--workers", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert f"{total - interrupted} runs executed, {interrupted} already done" in resumed.stderr
    fresh = runner.invoke(app, ["sweep", str(sweep_file), "--out", str(clean), "--workers", "1"])
    assert fresh.exit_code == 0
    pd.testing.assert_frame_equal(ResultsStore(killed).runs(), ResultsStore(clean).runs())
    assert len(list((killed / "runs").glob("*.parquet"))) == total  # nothing lost or duplicated
    assert not list(killed.rglob(".*.tmp"))


def test_results_command_prints_and_exports(small_sweep, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["sweep", str(small_sweep), "--out", str(out), "--workers", "1"]
                         ).exit_code == 0  # fmt: skip
    csv = tmp_path / "summary.csv"
    result = runner.invoke(
        app, ["results", str(out), "--csv", str(csv), "--metric", "attacks"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "trade_corridor" in result.stdout
    table = pd.read_csv(csv)
    assert {"scenario", "point", "fence.coverage", "attacks", "attacks_low", "attacks_high"} <= set(
        table.columns
    )
    assert len(table) == 4
    assert runner.invoke(app, ["results", str(tmp_path)]).exit_code == 2


def test_a_missing_sweep_file_is_a_scenario_error():
    with pytest.raises(ScenarioError):
        load_sweep("/nonexistent/sweep.toml", resolve_relative)


@pytest.mark.parametrize("name", ["fence_patrols", "sensitivity_morris"])
def test_shipped_sweeps_validate(name):
    from tests.conftest import REPO

    sweep = load_sweep(REPO / "sweeps" / f"{name}.toml", resolve_relative)
    assert len(sweep.runs) == len(sweep.points) * len(sweep.scenario_files) * sweep.spec.replicates
    assert len(sweep.runs) >= 40


def test_equal_design_points_keep_their_own_runs(tmp_path):
    # Morris trajectories share grid levels, so design points repeat; every point must be stored.
    path = tmp_path / "morris.toml"
    path.write_text(
        'name = "m"\nscenarios = ["baseline"]\nreplicates = 1\ndays = 5\nseries = false\n'
        '[design]\nkind = "morris"\nsamples = 4\n'
        '[parameters."fence.coverage"]\nlow = 0.0\nhigh = 1.0\n'
        '[parameters."patrols.units"]\nlow = 100\nhigh = 1500\ninteger = true\n'
    )
    sweep = load_sweep(path, resolve_relative)
    values = [tuple(p.values()) for p in sweep.points]
    assert len(set(values)) < len(values)  # the design does repeat points
    assert len({r.run_id for r in sweep.runs}) == len(sweep.runs)
    store = ResultsStore(tmp_path / "out")
    run_sweep(sweep, store, workers=1)
    assert sorted(store.runs()["point"]) == list(range(len(sweep.points)))
