"""borderabm under Mesa's batch_run (BatchBorderModel) and the EMA Workbench (ema_model)."""

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
from mesa.batchrunner import batch_run

from borderabm.experiments.interop import BatchBorderModel, ema_model, load_settings
from borderabm.model import BorderModel
from borderabm.scenario import ScenarioError
from tests.conftest import REPO

DAYS = 15
EXAMPLE = REPO / "docs" / "examples" / "ema_workbench_example.py"
HEADLINE = ("attacks", "militant_crossings", "formal_trade_usd", "policy_cost_usd")


def run_batch(parameters=None, rng=(1, 2), days=DAYS, period=-1):
    return batch_run(
        BatchBorderModel,
        parameters={"scenario": "baseline", "days": days, **(parameters or {})},
        number_processes=1,
        data_collection_period=period,
        max_steps=days,
        rng=list(rng),
        display_progress=False,
    )


def reference_summary(days=DAYS, seed=1, **overrides):
    """The same run built directly with BorderModel: what the batch rows must report."""
    model = BorderModel(load_settings("baseline", overrides, days=days, seed=seed))
    model.run()
    return model.summary(), model.timeseries()


@pytest.fixture(scope="module")
def rows():
    return run_batch({"fence.coverage": [0.0, 1.0]})


# Mesa batch_run -----------------------------------------------------------------------------------
def test_batch_run_gives_one_row_per_run_with_parameters_and_finite_metrics(rows):
    assert len(rows) == 4
    summary, _ = reference_summary()
    for row in rows:
        for column in ("RunId", "iteration", "Step", "scenario", "days", "seed", "fence.coverage"):
            assert column in row, column
        assert row["scenario"] == "baseline"
        assert row["days"] == DAYS and row["Step"] == DAYS
        for name in summary:  # every summary metric, under its own name
            assert isinstance(row[name], float) and math.isfinite(row[name]), name
        assert "daily.attacks" in row and "daily.open.Torkham" in row
    assert sorted((r["seed"], r["fence.coverage"]) for r in rows) == [
        (1, 0.0), (1, 1.0), (2, 0.0), (2, 1.0),
    ]  # fmt: skip


def test_final_row_is_the_run_summary_in_real_units(rows):
    summary, series = reference_summary(seed=2, **{"fence.coverage": 1.0})
    row = next(r for r in rows if r["seed"] == 2 and r["fence.coverage"] == 1.0)
    assert {name: row[name] for name in summary} == summary
    assert row["formal_trade_usd"] == series["formal_trade_usd"].sum() > 1e6  # US$, not agents
    for name in ("attacks", "formal_trade_usd", "fence_km"):  # daily.* is the last day
        assert row[f"daily.{name}"] == series[name].iloc[-1]


def test_fence_coverage_changes_the_outcomes(rows):
    by_run = {(r["seed"], r["fence.coverage"]): r for r in rows}
    for seed in (1, 2):
        open_border, fenced = by_run[seed, 0.0], by_run[seed, 1.0]
        assert open_border["fence_km_end"] == 0.0 < fenced["fence_km_end"]
        assert open_border["formal_trade_usd"] != fenced["formal_trade_usd"]
        assert open_border["informal_trade_usd"] != fenced["informal_trade_usd"]
        assert open_border["fence_breaches"] == 0.0 < fenced["fence_breaches"]


def test_same_seed_gives_identical_rows_and_other_seeds_differ(rows):
    again = run_batch({"fence.coverage": [0.0, 1.0]})
    pd.testing.assert_frame_equal(pd.DataFrame(rows), pd.DataFrame(again))
    seed1, seed2 = (next(r for r in rows if r["seed"] == s and r["fence.coverage"] == 1.0)
                    for s in (1, 2))  # fmt: skip
    assert any(seed1[name] != seed2[name] for name in HEADLINE)


def test_every_day_row_holds_the_run_to_date():
    days = 8
    daily_rows = run_batch(rng=[3], days=days, period=1)
    assert [r["Step"] for r in daily_rows] == list(range(1, days + 1))
    assert [r["days"] for r in daily_rows] == list(range(1, days + 1))
    attacks = np.cumsum([r["daily.attacks"] for r in daily_rows])
    assert [r["attacks"] for r in daily_rows] == attacks.tolist()
    cost = [r["policy_cost_usd"] for r in daily_rows]
    assert all(b > a for a, b in zip(cost, cost[1:], strict=False))
    last = run_batch(rng=[3], days=days)[0]
    assert {k: v for k, v in daily_rows[-1].items() if k != "RunId"} == {
        k: v for k, v in last.items() if k != "RunId"
    }


def test_max_steps_before_the_horizon_stops_the_run_there():
    row = batch_run(BatchBorderModel, parameters={"days": 30}, rng=[1], max_steps=5,
                    display_progress=False)[0]  # fmt: skip
    assert row["days"] == 5 and row["Step"] == 5
    summary, _ = reference_summary(days=5)
    assert row["formal_trade_usd"] == summary["formal_trade_usd"]


def test_unseeded_replicates_differ_and_report_their_seed():
    first, second = run_batch(rng=[None, None], days=5)
    assert isinstance(first["seed"], int) and isinstance(second["seed"], int)
    assert first["seed"] != second["seed"]
    replay = run_batch(rng=[first["seed"]], days=5)[0]
    assert {n: replay[n] for n in HEADLINE} == {n: first[n] for n in HEADLINE}


def test_batch_model_keywords():
    model = BatchBorderModel(days=3, seed=4, fence__coverage=0.25, **{"patrols.units": 100})
    assert model.settings.fence.coverage == 0.25 and model.settings.patrols.units == 100
    assert model.settings.horizon_days == 3 and model.settings.seed == 4
    model.run()
    assert not model.running and model.day == 3
    assert model.summary()["days"] == 3.0
    assert BatchBorderModel(days=3, rng=np.int64(4)).settings.seed == 4
    with pytest.raises(ValueError, match="either seed or rng"):
        BatchBorderModel(days=3, seed=1, rng=2)
    with pytest.raises(ValueError, match="given twice"):
        BatchBorderModel(days=3, fence__coverage=0.1, **{"fence.coverage": 0.2})
    with pytest.raises(ScenarioError, match="did you mean 'coverage'"):
        BatchBorderModel(days=3, **{"fence.coverag": 1.0})
    with pytest.raises(
        ScenarioError, match="no_such_scenario: not a scenario file or a shipped scenario"
    ):
        BatchBorderModel("no_such_scenario", days=3)


# EMA Workbench ------------------------------------------------------------------------------------
def load_example():
    spec = importlib.util.spec_from_file_location("ema_workbench_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ema_example_runs_its_experiments():
    example = load_example()
    experiments, outcomes = example.run(n_scenarios=2, n_policies=2, days=5)
    assert len(experiments) == 4
    for name in ("militants__infiltrations_per_cell_year", "refugees__conflict_intensity",
                 "fence__coverage", "corridor__enabled", "patrols__units", "policy"):  # fmt: skip
        assert name in experiments.columns, name
    assert experiments["policy"].nunique() == 2 and experiments["scenario"].nunique() == 2
    assert set(outcomes) == set(example.OUTCOMES)
    for name, values in outcomes.items():
        assert values.shape == (4,), name
        assert np.isfinite(values.astype(float)).all(), name
    # An experiment's outcomes are ema_model's for its parameters and the example's constants.
    first = experiments.iloc[0]
    direct = ema_model(
        scenario="baseline", days=5, seed=1,
        **{name: first[name] for name in ("militants__infiltrations_per_cell_year",
                                          "refugees__conflict_intensity", "fence__coverage",
                                          "corridor__enabled", "patrols__units")},
    )  # fmt: skip
    assert {n: direct[n] for n in example.OUTCOMES} == {n: outcomes[n][0] for n in outcomes}
    table = example.policy_table(experiments, outcomes)
    assert len(table) == 2


def test_ema_model_maps_double_underscores_onto_dotted_keys():
    open_border = ema_model(fence__coverage=0.0, days=10)
    fenced = ema_model(fence__coverage=1.0, days=10)
    assert open_border["fence_km_end"] == 0.0 < fenced["fence_km_end"]
    assert open_border["formal_trade_usd"] != fenced["formal_trade_usd"]
    assert ema_model(days=10, **{"fence.coverage": 1.0}) == fenced
    assert all(isinstance(v, float) and math.isfinite(v) for v in fenced.values())


def test_ema_model_seed_and_numpy_values():
    assert ema_model(days=5) == ema_model(days=5, seed=1)  # the scenario's seed by default
    assert ema_model(days=5, seed=np.int64(7), patrols__units=np.int64(300),
                     corridor__enabled=np.bool_(True)) == ema_model(
        days=5, seed=7, patrols__units=300, corridor__enabled=True
    )  # fmt: skip
    assert ema_model(days=5, seed=7) != ema_model(days=5, seed=8)


def test_ema_model_rejects_unknown_names():
    with pytest.raises(ScenarioError, match="did you mean 'coverage'") as error:
        ema_model(fence__coverag=1.0, days=3)
    assert "fence__coverag -> fence.coverag" in str(error.value)
    with pytest.raises(ScenarioError, match="fencing: unknown key"):
        ema_model(fencing=1.0, days=3)
    with pytest.raises(ScenarioError, match="out of range"):
        ema_model(fence__coverage=1.5, days=3)
    with pytest.raises(ValueError, match="given twice"):
        ema_model(fence__coverage=0.5, days=3, **{"fence.coverage": 0.5})
