"""Gate travellers (issue 12): the people who use the official gates every day.

Each test runs the real 2025 baseline for 60 days (at most), with its attack-triggered closures
switched off where a test needs the gates open, and asserts a published figure or a promised rule:
Torkham ~10,000 people a day and ~13,000 across all crossings, the passport regime's cut at Torkham
(IOM 2017), thousands stranded by a closure, humanitarian passage through a closed gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from borderabm.model import BorderModel
from borderabm.rules.gate_travellers import QUEUED
from borderabm.rules.gates import REGIME_CODE
from borderabm.scenario import ScenarioError, load_scenario, with_overrides
from borderabm.scenario.paths import shipped_scenarios_dir

BASELINE = shipped_scenarios_dir() / "baseline.toml"
CALM = {"triggers": [], "horizon_days": 60}  # no attack-triggered closures: the gates stay open
WARM_UP = 5  # days before the flows settle from the starting state
TORKHAM_CLOSURE = {**CALM, "crossings.Torkham.closures": [{"start": 30, "end": 55}]}
# Afghans holding a passport and visa at Torkham in 2016: 2,000-2,500 of ~17,000 a day crossed
# once both were required (IOM Pakistan, Torkham assessment, June 2017).
PASSPORTS_2016 = 0.15


def run(world, overrides: dict, days: int | None = None) -> tuple[BorderModel, pd.DataFrame]:
    model = BorderModel(load_scenario(BASELINE, overrides), world=world)
    model.run(days)
    return model, model.timeseries()


@pytest.fixture(scope="module")
def calm(world):
    return run(world, CALM)


def test_baseline_carries_the_published_daily_flows(calm):
    _, series = calm
    settled = series.iloc[WARM_UP:]
    assert (settled["gates_closed_against_normal"] == 0).all()
    torkham = settled["gate_people.Torkham"].mean()
    everywhere = settled["gate_people"].mean()
    assert 8_000 <= torkham <= 12_000, torkham  # ~10,000 a day (2019-2025, immigration)
    assert 10_000 <= everywhere <= 20_000, everywhere  # ~13,000 a day (March 2023, official)
    chaman = settled["gate_people.Chaman"].mean()
    assert 500 <= chaman < torkham, chaman  # far fewer since the one-document regime
    assert settled["stranded_people"].sum() == 0  # nobody waits at an open gate in vain


def test_gate_people_is_the_sum_over_the_gates(calm):
    model, series = calm
    by_gate = [f"gate_people.{gate}" for gate in model.policy.gate_names]
    np.testing.assert_allclose(series[by_gate].sum(axis=1), series["gate_people"])
    assert (series["gate_people"] > series["refugee_crossings_formal"]).all()


def test_refugees_and_travellers_share_the_people_capacity(world):
    capacity = 2_000  # people a day on a 24-hour day, far below Torkham's demand
    _, series = run(world, {**CALM, "crossings.Torkham.capacity_people_per_day": capacity}, 30)
    torkham = series["gate_people.Torkham"].iloc[WARM_UP:]
    rounding = 2 * 50  # whole agents of 50 people, rounded keeping the mean
    assert torkham.max() <= capacity + rounding
    assert torkham.mean() >= 0.8 * capacity  # the queue keeps the gate busy
    refugees = series["refugee_crossings_formal.Torkham"].iloc[WARM_UP:]
    assert (refugees <= torkham).all()


def test_a_dated_change_sets_a_gates_document_regime(world):
    overrides = {
        **CALM,
        "crossings.Torkham.document_regime": "open",
        "changes": [{"day": 3, "set": {"crossings.Torkham.document_regime": "passport_visa"}}],
    }
    scenario = load_scenario(BASELINE, overrides)
    assert scenario.crossings["Torkham"].document_regime == "open"
    changed = with_overrides(scenario, scenario.changes[0].set, "changes")
    assert changed.crossings["Torkham"].document_regime == "passport_visa"
    model = BorderModel(scenario, world=world)
    torkham = model.policy.gate_names.index("Torkham")
    regimes = []
    for _ in range(5):
        model.step()
        regimes.append(int(model.gates.document_regime[torkham]))
    assert regimes == [REGIME_CODE["open"]] * 3 + [REGIME_CODE["passport_visa"]] * 2


def test_the_passport_regime_cuts_torkham_as_in_june_2016(world):
    overrides = {
        **CALM,
        "scale.people_per_agent": 10,  # finer agents: the cut is a ratio of two means
        "crossings.Torkham.document_regime": "open",
        "gate_travellers.catchments.Torkham.passport_visa_share": PASSPORTS_2016,
        "changes": [{"day": 30, "set": {"crossings.Torkham.document_regime": "passport_visa"}}],
    }
    _, series = run(world, overrides)
    before, after = series.iloc[WARM_UP:30], series.iloc[32:]
    crossed_before = before["gate_people.Torkham"].mean()
    crossed_after = after["gate_people.Torkham"].mean()
    assert 10_000 <= crossed_before <= 20_000, crossed_before  # ">10,000" to ">20,000" (2016)
    assert 0.10 <= crossed_after / crossed_before <= 0.40, (crossed_before, crossed_after)
    for outcome in ("trips_forgone", "travellers_turned_away", "irregular_civilian_crossings"):
        assert after[outcome].mean() > before[outcome].mean(), outcome


def test_a_torkham_closure_strands_thousands_within_days(world):
    model, series = run(world, TORKHAM_CLOSURE)
    closed = series.iloc[30:35]
    assert (closed["open.Torkham"] == 0).all()
    assert closed["stranded_people.Torkham"].max() >= 2_000
    assert (closed["gate_people.Torkham"] == 0).all()  # no humanitarian passage by default
    assert series["humanitarian_passages"].sum() == 0
    np.testing.assert_allclose(
        series["stranded_people"],
        series[[f"stranded_people.{gate}" for gate in model.policy.gate_names]].sum(axis=1),
    )
    # Some stranded travellers divert to the other gates, whose flows rise during the closure.
    others = series["gate_people"] - series["gate_people.Torkham"]
    assert others.iloc[31:40].mean() > others.iloc[WARM_UP:30].mean()
    # Once the gate reopens, the stranded cross and nobody waits there.
    assert series["stranded_people"].iloc[56:].sum() == 0


def test_humanitarian_passage_through_a_closed_gate(world):
    capacity = 500
    overrides = {**TORKHAM_CLOSURE, "crossings.Torkham.humanitarian_people_per_day": capacity}
    model, series = run(world, overrides, 45)
    closed = series.iloc[31:45]
    passed = closed["humanitarian_passages"]
    assert passed.mean() > 0.5 * capacity
    assert passed.max() <= capacity + 2 * model.people_per_agent
    np.testing.assert_allclose(closed["gate_people.Torkham"], passed)  # they count as crossings
    assert series["humanitarian_passages"].iloc[:30].sum() == 0  # only while the gate is closed


def test_torkham_flow_does_not_depend_on_the_agent_scale(world):
    means = []
    for per_agent in (10, 50):
        _, series = run(world, {**CALM, "scale.people_per_agent": per_agent}, 40)
        means.append(series["gate_people.Torkham"].iloc[WARM_UP:].mean())
    assert means[0] == pytest.approx(means[1], rel=0.15), means


def test_same_seed_same_travellers(world):
    first, a = run(world, TORKHAM_CLOSURE, 40)
    second, b = run(world, TORKHAM_CLOSURE, 40)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(first.gate_travellers.state, second.gate_travellers.state)
    assert (first.gate_travellers.state == QUEUED).any()  # the closure is still on at day 40


def test_catchment_shares_must_add_up():
    with pytest.raises(ScenarioError, match="at most 1"):
        load_scenario(BASELINE, {"gate_travellers.catchments.Torkham.border_permit_share": 0.5})
    with pytest.raises(ScenarioError, match="Torkam"):
        load_scenario(BASELINE, {"gate_travellers.catchments.Torkam.people": 5})
    with pytest.raises(ScenarioError, match="at most 1"):
        load_scenario(BASELINE, {"gate_travellers.give_up_per_day": 0.99})


def test_returnees_and_deportees_pass_a_closed_gate_on_humanitarian_grounds(world):
    shut = {
        **CALM,
        "crossings.Torkham.closures": [{"start": 0, "end": 60}],
        "deportation.enabled": True,
        "deportation.daily_rate": 3_000,
    }
    _, without = run(world, shut, 20)
    _, with_passage = run(
        world, {**shut, "crossings.Torkham.humanitarian_people_per_day": 1_000}, 20
    )
    assert without["refugee_crossings_formal.Torkham"].sum() == 0
    assert without["stranded_people.Torkham"].iloc[-1] > 0
    deportees = with_passage["refugee_crossings_formal.Torkham"]
    assert deportees.sum() > 0
    # Refugees come first; travellers (patients, families) get what they leave.
    assert (deportees <= with_passage["humanitarian_passages"]).all()
    assert with_passage["humanitarian_passages"].max() <= 1_000 + 2 * 50
