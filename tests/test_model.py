"""The Mesa model frame: dated policy events, fence schedule, costs and determinism."""

import numpy as np
import pandas as pd
import pytest

from borderabm.metrics import summarise
from borderabm.model import BorderModel
from borderabm.scenario import validate_document


def make(world, **document):
    return BorderModel(validate_document(document, "test.toml"), world=world)


def test_one_step_is_one_day(world):
    model = make(world, horizon_days=5, start_date="2025-10-01")
    model.run()
    assert model.day == 5 and model.steps == 5 and model.time == 5.0
    assert not model.running
    series = model.timeseries()
    assert series["date"].iloc[-1] == pd.Timestamp("2025-10-05")


def test_closures_hold_from_start_to_end(world):
    model = make(
        world,
        horizon_days=30,
        crossings={
            "Torkham": {"closures": [{"start": 10, "end": 20}]},
            "Chaman": {"closures": [{"start": 15, "end": 25}]},
        },
    )
    model.run()
    series = model.timeseries()
    torkham = series["open.Torkham"].to_numpy()
    assert torkham[:10].all() and not torkham[10:20].any() and torkham[20:].all()
    assert series["gates_closed_against_normal"].max() == 2
    assert model.summary()["crossing_closed_days"] == 20


def test_overlapping_closures_nest(world):
    model = make(
        world,
        horizon_days=30,
        crossings={"Torkham": {"closures": [{"start": 5, "end": 15}, {"start": 10, "end": 20}]}},
    )
    model.run()
    assert model.summary()["crossing_closed_days"] == 15


def test_corridor_gate_ignores_closures(world):
    model = make(
        world,
        horizon_days=20,
        corridor={"enabled": True, "gates": ["Torkham"]},
        crossings={
            "Torkham": {"closures": [{"start": 0, "end": 20}]},
            "Chaman": {"closures": [{"start": 0, "end": 20}]},
        },
    )
    model.run()
    series = model.timeseries()
    assert series["open.Torkham"].all() and not series["open.Chaman"].any()


def test_dated_change_applies_from_its_day(world):
    model = make(
        world,
        horizon_days=20,
        fence={"coverage": 0.2},
        changes=[{"day": 10, "set": {"fence.coverage": 0.9, "crossings.Chaman.open": False}}],
    )
    model.run()
    series = model.timeseries()
    assert series["fence_share"].iloc[9] == pytest.approx(0.2)
    assert series["fence_share"].iloc[10] == pytest.approx(0.9)
    assert series["open.Chaman"].iloc[9] == 1 and series["open.Chaman"].iloc[10] == 0
    assert model.summary()["crossing_closed_days"] == 10


def test_fence_schedule_and_sector_override(world):
    model = make(
        world,
        horizon_days=101,
        fence={
            "schedule": [{"day": 0, "coverage": 0.5}, {"day": 100, "coverage": 1.0}],
            "sectors": {"Khyber": 0.0},
        },
    )
    model.run()
    series = model.timeseries()
    assert series["fence_share.Chagai"].iloc[50] == pytest.approx(0.75)
    assert (series["fence_share.Khyber"] == 0).all()
    khyber_km = world.sector_by_name("Khyber").length_km
    assert model.policy.fence_km == pytest.approx(world.border_length_km - khyber_km, rel=1e-6)


def test_costs_rise_with_the_levers(world):
    def cost(**document):
        model = make(world, horizon_days=30, **document)
        model.run()
        return model.summary()["policy_cost_usd"]

    base = cost(fence={"coverage": 0.5})
    assert cost(fence={"coverage": 1.0}) > base
    assert cost(fence={"coverage": 0.5}, patrols={"units": 1200}) > base
    assert cost(fence={"coverage": 0.5}, corridor={"enabled": True}) > base
    # Full fence for a year costs its amortised capital plus upkeep: ~US$550M/20 + 2,242 km x 5k.
    year = make(world, horizon_days=365, fence={"coverage": 1.0}, patrols={"units": 0})
    year.run()
    expected = world.border_length_km * (550e6 / 2600 / 20 + 5_000)
    assert year.summary()["policy_cost_usd"] == pytest.approx(expected, rel=1e-6)


def test_same_scenario_same_results(world):
    def series():
        model = make(
            world,
            horizon_days=40,
            seed=3,
            crossings={"Torkham": {"closures": [{"start": 5, "end": 9}]}},
        )
        model.run()
        return model.timeseries(), model.rng.random(3)

    (a, rng_a), (b, rng_b) = series(), series()
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(rng_a, rng_b)


def test_the_summary_is_computed_from_the_daily_series_alone(world):
    model = make(
        world,
        horizon_days=40,
        seed=2,
        deportation={"daily_rate": 400},
        crossings={"Torkham": {"closures": [{"start": 5, "end": 15}]}},
    )
    model.run()
    series = model.timeseries()
    summary = summarise(series)  # nothing but the series
    assert summary == model.summary()
    assert summary["crossing_closed_days"] == series["gates_closed_against_normal"].sum() >= 10
    # The cost is the day-by-day running total of the daily costs, to the last digit.
    running = 0.0
    for day_cost in series["policy_cost_usd"]:
        running += day_cost
    assert summary["policy_cost_usd"] == running > 0


def test_a_target_province_without_towns_leaves_the_militants_idle_instead_of_crashing():
    # Punjab is a province of the world, but no town of the map lies in it: nothing to attack.
    from borderabm.experiments.run import run_one
    from borderabm.scenario import load_scenario, resolve_scenario_path

    settings = load_scenario(
        resolve_scenario_path("baseline"), {"militants.targets": ["Punjab"], "horizon_days": 5}
    )
    result = run_one(settings)
    # Only groups based in Pakistan attack (they strike KP and Balochistan whatever the targets).
    assert result.summary["attacks"] == result.summary["domestic_attacks"]
    assert result.summary["militant_crossings"] == 0
