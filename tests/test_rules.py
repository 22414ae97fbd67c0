"""Unit tests of each rule of the model on tiny hand-made worlds (``tests/tiny_world.py``).

Every test pins its seed and asserts the behaviour a rule promises, on a world small enough that the
expected outcome can be worked out by hand. Several began as strict xfails that exposed bugs (a walk
straying into the other country on its way to a crossing point; visitors turned back at the line
jumping home) and now guard their fixes.
"""

from __future__ import annotations

import ast
import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_world import BORDER_X, tiny_world
from tiny_world import flat as flat_cell

from borderabm.gazetteer import crossing_names
from borderabm.metrics import BREAKDOWNS, SCALARS
from borderabm.model import BorderModel
from borderabm.rules import militants as militants_mod
from borderabm.rules import refugees as refugees_mod
from borderabm.rules import traders as traders_mod
from borderabm.rules.crossing import CrossingPoints
from borderabm.rules.gates import serve_queues
from borderabm.rules.patrols import ALLOCATORS, largest_remainder
from borderabm.rules.policy import PolicyState
from borderabm.rules.population import (
    FOOT,
    HOURS_PER_DAY,
    VEHICLE,
    Journey,
    Population,
    choose_on_sides,
    other_side,
)
from borderabm.scenario import PATROL_STRATEGIES, validate_document
from borderabm.world.routes import build_routes, informal_points
from borderabm.world.world import AF, PK

QUIET = {"traders": 0, "refugees": 0, "militants": 0}
# Nobody uses the gates every day either, unless a test says so.
NO_GATE_TRAVELLERS = {"catchments": {gate: {"people": 0} for gate in crossing_names()}}


# ------------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return tiny_world()


@pytest.fixture(scope="module")
def routes(world):
    return build_routes(world, use_cache=False)


@pytest.fixture(scope="module")
def uneven():
    """Sectors of unequal length: Chaman 20 km (points y=0, 3), Khyber 40 km (points y=4, 8)."""
    world = tiny_world(sector_split=4)
    return world, build_routes(world, use_cache=False)


def scenario(**document):
    """A validated scenario: quiet (no agents, no patrols) unless the document says otherwise."""
    base = {"name": "tiny", "horizon_days": 30, "population": dict(QUIET), "patrols": {"units": 0},
            "gate_travellers": NO_GATE_TRAVELLERS}  # fmt: skip
    for key, value in document.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return validate_document(base, "tiny.toml")


def make(world, routes, **document):
    return BorderModel(scenario(**document), world=world, routes=routes)


def point_index(model_or_points, cell):
    points = getattr(model_or_points, "points", model_or_points)
    matches = np.flatnonzero((points.cells == np.asarray(cell)).all(axis=1))
    assert matches.size == 1, f"no informal point at {cell}"
    return int(matches[0])


# ------------------------------------------------------------------------------------------------
# The tiny world itself
# ------------------------------------------------------------------------------------------------
def test_tiny_world_is_consistent(world, routes):
    assert world.grid.shape == (24, 12)
    assert world.is_border.sum() == 12 and world.is_border[BORDER_X].all()
    assert world.border_length_km == pytest.approx(60.0)
    assert world.country_at(world.town("Kandahar").cell) == "AF"
    assert world.country_at(world.town("Peshawar").cell) == "PK"
    assert [s.name for s in world.sectors] == ["Chaman", "Khyber"]
    assert world.crossing("Chaman").sector == 0 and world.crossing("Torkham").sector == 1
    # The informal points: the lowest-chainage cell of each half sector, gates excluded.
    assert informal_points(world) == [(12, 0, 0), (12, 3, 0), (12, 6, 1), (12, 10, 1)]
    assert routes.node_name[:2] == ("Chaman", "Torkham")
    # Every node reachable from its side; roads make driving faster than walking.
    kandahar = world.town("Kandahar").cell
    assert np.isfinite(routes.foot_hours[routes.crossing_points][:, *kandahar]).all()
    quetta = routes.town_node(world, "Quetta")
    assert not np.isfinite(routes.foot_hours[quetta][:BORDER_X]).any()  # Quetta's side only
    chaman = 0
    assert routes.vehicle_hours[chaman][kandahar] < routes.foot_hours[chaman][kandahar]


def test_route_accessors_index_the_fields_by_node_and_flat_cell(world, routes):
    kandahar = world.town("Kandahar").cell
    here = flat_cell(world, *kandahar)
    node = routes.town_node(world, "Peshawar")
    assert routes.hours(FOOT)[node, here] == routes.foot_hours[node, *kandahar]
    assert routes.hours(VEHICLE)[node, here] == routes.vehicle_hours[node, *kandahar]
    assert np.shares_memory(routes.hours(FOOT), routes.foot_hours)  # a view: no 65 MB copy
    assert routes.next_cells(VEHICLE) is routes.vehicle_next
    peshawar = world.town("Peshawar").cell
    assert routes.node_flat[node] == flat_cell(world, *peshawar)
    assert routes.node_flat.shape == (len(routes.node_kind),)


# ------------------------------------------------------------------------------------------------
# Gates: first come, first served
# ------------------------------------------------------------------------------------------------
def test_serve_queues_fifo_by_arrival_within_each_gate():
    gate = np.array([0, 0, 0, 1, 1, 0, 1])
    arrival = np.array([5, 2, 9, 1, 3, 2, 0])
    key = np.array([10, 11, 12, 13, 14, 15, 16])
    served = serve_queues(gate, arrival, np.array([2, 1]), key)
    # Gate 0 serves the two who came on day 2 (keys 11 and 15); gate 1 the one from day 0.
    np.testing.assert_array_equal(served, [False, True, False, False, False, True, True])


def test_serve_queues_capacity_and_deterministic_tie_break():
    rng = np.random.default_rng(3)
    n = 200
    gate = rng.integers(0, 3, n)
    arrival = rng.integers(0, 4, n)  # many ties within a day
    key = rng.permutation(n)
    capacity = np.array([7, 0, 1000])
    served = serve_queues(gate, arrival, capacity, key)
    for g in range(3):
        mine = gate == g
        assert served[mine].sum() == min(capacity[g], mine.sum())
        # Everyone served came no later than anyone left waiting (ties: smaller key first).
        if served[mine].any() and (~served[mine]).any():
            last_in = max(zip(arrival[mine & served], key[mine & served], strict=True))
            first_out = min(zip(arrival[mine & ~served], key[mine & ~served], strict=True))
            assert last_in < first_out
    # The answer depends on the queue, not on the order rows are listed in.
    order = rng.permutation(n)
    again = serve_queues(gate[order], arrival[order], capacity, key[order])
    np.testing.assert_array_equal(again, served[order])
    assert serve_queues(gate[:0], arrival[:0], capacity, key[:0]).shape == (0,)


# ------------------------------------------------------------------------------------------------
# Journeys
# ------------------------------------------------------------------------------------------------
def test_journey_advance_reports_arrivals_on_the_right_day():
    journey = Journey.empty(3)
    rows = np.arange(3)
    journey.start(rows, 5, np.zeros(3, np.int32), np.array([7.0, 20.0, 16.0]), FOOT)
    journey.start(rows[2:], 5, np.zeros(1, np.int32), np.array([16.0]), FOOT, slowdown=2.0)
    assert journey.speed[0] == HOURS_PER_DAY[FOOT] and journey.speed[2] == HOURS_PER_DAY[FOOT] / 2
    arrivals = [journey.advance(rows).tolist() for _ in range(4)]
    # 7 h: day 1; 20 h at 8 h/day: day 3; 16 h at 4 h/day: day 4.
    assert arrivals[0] == [0] and arrivals[2][-1] == 1 and arrivals[3][-1] == 2
    assert 1 not in arrivals[1] and 2 not in arrivals[2]
    vehicle = Journey.empty(1)
    vehicle.start(np.array([0]), 1, np.zeros(1, np.int32), np.array([10.0]), VEHICLE)
    assert vehicle.advance(np.array([0])).tolist() == [0]


def _walk(journey, routes, rows, days=12, country=None):
    """Positions (flat cells) of ``rows`` at the start and after each day of travel."""
    country = tiny_world().country if country is None else country
    positions = [journey.cells(routes, rows, country)]
    for _ in range(days):
        journey.advance(rows)
        positions.append(journey.cells(routes, rows, country))
    return np.array(positions)


@pytest.mark.parametrize(
    ("town", "node_cell", "mode"),
    [
        ("Kandahar", (12, 6), FOOT),
        ("Peshawar", (12, 3), FOOT),
        ("Kandahar", (12, 9), VEHICLE),
    ],
)
def test_journey_cells_walk_towards_the_node_and_end_there(world, routes, town, node_cell, mode):
    node = int(np.flatnonzero((routes.node_cell == node_cell).all(axis=1))[0])
    hours = routes.foot_hours if mode == FOOT else routes.vehicle_hours
    field = hours[node].ravel()
    origin = flat_cell(world, *world.town(town).cell)
    journey = Journey.empty(1)
    rows = np.array([0])
    slowdown = HOURS_PER_DAY[mode]  # one hour of travel a day: a few cells at a time
    journey.start(rows, node, np.array([origin]), np.array([field[origin]]), mode, slowdown)
    path, remaining = [journey.cells(routes, rows, world.country)[0]], [journey.remaining_h[0]]
    for _ in range(15):
        journey.advance(rows)
        path.append(journey.cells(routes, rows, world.country)[0])
        remaining.append(journey.remaining_h[0])
    path = np.array(path)
    assert path[0] == origin  # nobody moves before travelling
    to_go = field[path]
    # Each day the walker stands where the hours still to go match the hours left on the leg.
    assert (to_go <= np.maximum(remaining, 0.0) + 1e-4).all()
    assert (to_go > np.maximum(remaining, 0.0) - 1.5).all()  # within a step (<= 1.42 h) of it
    assert (np.diff(to_go) <= 1e-4).all()  # always closer (in hours) to the node
    assert len(set(path.tolist())) > 2  # and it really walks, cell by cell
    node_flat = flat_cell(world, *node_cell)
    assert path[-1] == node_flat and journey.remaining_h[0] <= 0.0
    side = world.country.ravel()[origin]
    assert ((world.country.ravel()[path] == side) | world.is_border.ravel()[path]).all()


def _leaves_its_side(world, routes, node):
    """Cells of either side from which a walk to ``node`` passes through the other country."""
    country, border = world.country.ravel(), world.is_border.ravel()
    starts = np.flatnonzero(~border & np.isfinite(routes.foot_hours[node].ravel()))
    journey = Journey.empty(starts.size)
    rows = np.arange(starts.size)
    field = routes.foot_hours[node].ravel()
    journey.start(rows, node, starts, field[starts], FOOT)
    path = _walk(journey, routes, rows, days=int(field[starts].max() // 8) + 2,
                 country=world.country)  # fmt: skip
    assert (path[-1] == routes.node_cell[node] @ [world.grid.height, 1]).all()  # all arrive
    wrong = ~border[path] & (country[path] != country[starts][None, :])
    return starts[wrong.any(axis=0)]


def test_journeys_to_a_point_stay_on_their_side_of_a_flat_border(world, routes):
    for node in routes.informal:
        assert _leaves_its_side(world, routes, node).size == 0


def test_journeys_to_a_point_stay_on_their_side_of_uneven_ground():
    # Mountains on the Afghan side of the southern end and a hilly border stretch there: an Afghan
    # walk to the point at (12, 0) has to come down the border column, while from the border the
    # Pakistani plain is faster.
    world = tiny_world(mountains=[(0, 12, 0, 3)], border_foot={1: 1.0, 2: 1.0})
    routes = build_routes(world, use_cache=False)
    node = int(routes.informal[0])
    assert tuple(routes.node_cell[node]) == (12, 0)
    wrong = _leaves_its_side(world, routes, node)
    assert wrong.size == 0, f"{wrong.size} cells walk through the other country, e.g. (6, 10)"


# ------------------------------------------------------------------------------------------------
# Irregular crossings
# ------------------------------------------------------------------------------------------------
def _points(world, routes, *, share=0.0, units=0.0, **document):
    """The crossing points with a fence share and patrol units everywhere (integrity 1)."""
    settings = scenario(**document)
    points = CrossingPoints(world, routes)
    sectors = len(world.sectors)
    points.update(settings, np.full(sectors, share), np.ones(sectors), np.full(len(points), units))
    return points, settings


ATTEMPTS = np.repeat(np.arange(4), 500)


# With no passage (fence.civilian_passage_probability = 0) civilians never get through a full
# fence; tests/test_fence_civilians.py covers passage at its default.
NO_PASSAGE = {"civilian_passage_probability": 0.0}


def test_full_fence_without_passage_blocks_civilians_unseen(world, routes):
    points, settings = _points(world, routes, share=1.0, units=20, fence=NO_PASSAGE)
    assert (points.detection > 0).all()  # the patrols are there, but nobody meets them
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(0), can_breach=False, civilian=True
    )
    assert outcome.blocked.all()
    assert not (outcome.crossed.any() or outcome.breached.any() or outcome.interdicted.any())
    assert points.detections.sum() == 0 and points.crossings.sum() == 0
    assert points.attempts.sum() == ATTEMPTS.size


def test_breachers_cut_the_fence_and_are_counted(world, routes):
    points, settings = _points(world, routes, share=1.0, fence={"sensors": False})
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(0), can_breach=True, civilian=False
    )
    assert outcome.breached.all() and not outcome.blocked.any()
    np.testing.assert_array_equal(points.breaches, np.bincount(ATTEMPTS))
    assert outcome.crossed.all()  # no patrols, no sensors: nobody stops them


def test_no_patrols_no_sensors_means_no_detection(world, routes):
    points, settings = _points(world, routes, share=0.5, fence={"sensors": False})
    np.testing.assert_array_equal(points.detection, 0.0)
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(1), can_breach=True, civilian=True
    )
    assert outcome.crossed.all() and points.detections.sum() == 0
    # Sensors alone detect breaches in proportion to the fence.
    sensed, _ = _points(world, routes, share=0.5)
    np.testing.assert_allclose(sensed.detection, 0.5 * 0.2)


@pytest.mark.parametrize("lethal", [False, True])
def test_lethal_force_decides_civilian_deaths(world, routes, lethal):
    patrols = {"lethal_force": lethal, "lethal_death_probability": 1.0}
    points, settings = _points(world, routes, units=60, patrols=patrols)
    rng = np.random.default_rng(2)
    outcome = points.attempt(ATTEMPTS, settings, rng, can_breach=False, civilian=True)
    assert outcome.interdicted.sum() > 100
    if lethal:
        np.testing.assert_array_equal(outcome.killed, outcome.interdicted)
    else:
        assert not outcome.killed.any()
    # Stopping follows the rules of engagement: 0.8 of detections under lethal force, else 0.6.
    share = outcome.interdicted.sum() / points.detections.sum()
    assert share == pytest.approx(0.8 if lethal else 0.6, abs=0.05)


def test_per_point_tallies_add_up(world, routes):
    points, settings = _points(world, routes, fence={"sensors": False})
    points.update(settings, np.array([0.2, 0.8]), np.ones(2), np.array([0, 5, 20, 60]))
    rng = np.random.default_rng(4)
    chosen = rng.integers(0, 4, 3000)
    outcome = points.attempt(chosen, settings, rng, can_breach=True, civilian=False)
    np.testing.assert_array_equal(points.attempts, np.bincount(chosen, minlength=4))
    np.testing.assert_array_equal(
        points.crossings, np.bincount(chosen[outcome.crossed], minlength=4)
    )
    np.testing.assert_array_equal(
        points.breaches, np.bincount(chosen[outcome.breached], minlength=4)
    )
    assert (points.crossings + points.interdictions == points.attempts).all()  # breachers
    assert (points.interdictions <= points.detections).all()
    assert points.detections[0] == 0 and points.interdictions[3] > points.interdictions[1]
    assert not (outcome.crossed & outcome.interdicted).any()


# ------------------------------------------------------------------------------------------------
# Traders
# ------------------------------------------------------------------------------------------------
FREE_GATES = {"Chaman": {"tariff_pct": 0.0}, "Torkham": {"tariff_pct": 0.0}}


def test_traders_use_open_gates_without_tariff(world, routes):
    model = make(
        world,
        routes,
        horizon_days=20,
        population={"traders": 300},
        traders={"trip_probability_per_day": 0.5},
        crossings=FREE_GATES,
    )
    model.run()
    series = model.timeseries()
    formal = series["formal_trade_usd"].sum()
    assert formal > 0 and series["formal_consignments"].sum() > 100
    assert series["informal_trade_usd"].sum() < 0.02 * formal
    by_gate = series["formal_trade_usd.Chaman"] + series["formal_trade_usd.Torkham"]
    np.testing.assert_allclose(by_gate, series["formal_trade_usd"])
    assert (
        series["formal_trade_usd.Chaman"].sum() > 0 and series["formal_trade_usd.Torkham"].sum() > 0
    )


def test_traders_smuggle_or_give_up_when_every_gate_is_closed(world, routes):
    closed = {"tariff_pct": 0.0, "closures": [{"start": 0, "end": 1000}]}
    model = make(
        world,
        routes,
        horizon_days=20,
        population={"traders": 300},
        traders={"trip_probability_per_day": 0.5, "expected_closure_days": 365},
        crossings={"Chaman": closed, "Torkham": closed},
    )
    model.run()
    series = model.timeseries()
    assert (series["open.Chaman"] == 0).all() and (series["open.Torkham"] == 0).all()
    for column in (
        "formal_trade_usd",
        "formal_trade_usd.Chaman",
        "formal_trade_usd.Torkham",
        "formal_consignments",
    ):
        assert (series[column] == 0).all(), column
    assert series["informal_trade_usd"].sum() > 0
    assert series["informal_trade_usd"].sum() + series["trades_given_up"].sum() > 0
    assert not (model.traders.state == traders_mod.QUEUED).any()


# Regression: the waiting cost ignored gate_trade_allowed (fixed in 14f7c59).
def test_traders_do_not_wait_forever_at_a_gate_shut_by_status(world, routes):
    gates = {name: {"tariff_pct": 0.0, "capacity_trucks_per_day": 1} for name in FREE_GATES}
    shut = {"crossings.Chaman.open": False, "crossings.Torkham.open": False}
    model = make(
        world,
        routes,
        horizon_days=25,
        population={"traders": 300},
        crossings=gates,
        traders={"trip_probability_per_day": 1.0, "redecide_probability_per_day": 1.0},
        changes=[{"day": 5, "set": shut}],
    )
    model.run(5)
    queued = np.flatnonzero(model.traders.state == traders_mod.QUEUED)
    assert queued.size > 100  # one truck a day: a long queue forms before the gates shut
    model.run(20)  # twenty chances each to reconsider a gate that will never reopen
    still = np.isin(queued, np.flatnonzero(model.traders.state == traders_mod.QUEUED)).sum()
    assert still == 0, f"{still} of {queued.size} consignments still queue at shut gates"


# ------------------------------------------------------------------------------------------------
# Refugees and border communities
# ------------------------------------------------------------------------------------------------
STILL = {"voluntary_return_per_year": 0.0, "displacement_per_year": 0.0}


def test_deportation_takes_only_undocumented_groups_in_pakistan(world, routes):
    model = make(
        world,
        routes,
        population={
            "refugees": 800,
            "community_share": 0.0,
            "in_pakistan_share": 0.6,
            "registered_share": 0.5,
        },
        refugees=STILL,
        deportation={"enabled": True, "daily_rate": 40 * 50},
    )
    refugees = model.refugees
    pool = (refugees.group == refugees_mod.IN_PAKISTAN) & ~refugees.registered
    assert (refugees.side[refugees.group == refugees_mod.IN_PAKISTAN] == PK).all()
    assert 100 < pool.sum() < (refugees.group == refugees_mod.IN_PAKISTAN).sum()
    ever = np.zeros(refugees.n, dtype=bool)
    deported_per_day = []
    for _ in range(4):
        before = refugees.deported.copy()
        model.step()
        ever |= refugees.deported
        deported_per_day.append((refugees.deported & ~before).sum())
    assert ever.any() and not (ever & ~pool).any()  # registered groups are never deported
    assert deported_per_day[0] == 40  # the daily rate, in family groups of 50
    series = model.timeseries()
    assert series["deported_people"].iloc[0] == 40 * 50


def test_deportees_at_a_closed_gate_are_stranded(world, routes):
    closed = {"closures": [{"start": 0, "end": 1000}]}
    model = make(
        world,
        routes,
        horizon_days=5,
        population={
            "refugees": 600,
            "community_share": 0.0,
            "in_pakistan_share": 1.0,
            "registered_share": 0.0,
        },
        refugees={**STILL, "redecide_probability_per_day": 0.0},
        deportation={"enabled": True, "daily_rate": 20 * 50},
        crossings={"Chaman": closed, "Torkham": closed},
    )
    model.run()
    series = model.timeseries()
    at_gate = (model.refugees.state == refugees_mod.AT_GATE).sum()
    assert at_gate > 50
    assert series["stranded_people"].iloc[-1] == at_gate * 50
    by_gate = series["stranded_people.Chaman"] + series["stranded_people.Torkham"]
    np.testing.assert_array_equal(by_gate, series["stranded_people"])
    assert series["deportees_crossed"].sum() == 0 and series["refugee_crossings_formal"].sum() == 0
    # Everyone deported so far is either still on the road to a gate or stranded there.
    on_road = (model.refugees.state == refugees_mod.TO_GATE).sum()
    assert (at_gate + on_road) * 50 == series["deported_people"].sum()


# Regression: groups drawn but never sent were counted as deported (fixed in 14f7c59).
def test_deportation_counts_only_groups_actually_sent(world, routes):
    shut = {"open": False}
    model = make(
        world,
        routes,
        horizon_days=3,
        population={
            "refugees": 400,
            "community_share": 0.0,
            "in_pakistan_share": 1.0,
            "registered_share": 0.0,
        },
        refugees=STILL,
        deportation={"enabled": True, "daily_rate": 20 * 50},
        crossings={"Chaman": shut, "Torkham": shut},
    )
    model.run()
    assert (model.refugees.state == refugees_mod.SETTLED).all()  # nobody could be sent
    assert model.timeseries()["deported_people"].sum() == 0


COMMUNITIES = {"refugees": 400, "community_share": 1.0}
VISITS = {**STILL, "community_trips_per_year": 180.0}


def test_communities_never_cross_a_complete_fence_without_passage(world, routes):
    model = make(
        world,
        routes,
        horizon_days=15,
        population=COMMUNITIES,
        refugees=VISITS,
        fence={"coverage": 1.0, "integrity_decay_per_day": 0.0, **NO_PASSAGE},
    )
    model.run()
    series = model.timeseries()
    assert (series["fence_integrity"] == 1.0).all()
    assert series["community_crossings"].sum() == 0
    assert series["community_trips_blocked"].sum() > 100
    assert series["fence_breaches"].sum() == 0  # civilians turn back, they do not cut through


def test_communities_cross_an_open_border(world, routes):
    model = make(world, routes, horizon_days=15, population=COMMUNITIES, refugees=VISITS)
    model.run()
    series = model.timeseries()
    assert series["community_crossings"].sum() > 100 * 50
    assert series["community_trips_blocked"].sum() == 0
    assert series["refugee_crossings_irregular"].sum() == 0  # visits are not migration


def test_visitors_turned_back_on_the_way_home_stay_where_they_are(world, routes):
    model = make(
        world,
        routes,
        horizon_days=20,
        population=COMMUNITIES,
        refugees=VISITS,
        fence={"integrity_decay_per_day": 0.0, **NO_PASSAGE},
        changes=[{"day": 6, "set": {"fence.coverage": 1.0}}],
    )
    model.run(6)
    refugees = model.refugees
    visiting = np.flatnonzero(refugees.state == refugees_mod.VISITING)
    assert visiting.size > 20  # on the far side when the fence closes behind them
    model.run(8)
    home_country = world.country.ravel()[refugees.home]
    settled = refugees.state == refugees_mod.SETTLED
    # A settled group is at home, on its home's side of the line.
    assert (refugees.side[settled] == home_country[settled]).all()
    assert (refugees.state[visiting] == refugees_mod.VISITING).all()


# ------------------------------------------------------------------------------------------------
# Militants
# ------------------------------------------------------------------------------------------------
def test_learning_moves_risk_towards_the_observed_loss_share(world, routes):
    model = make(world, routes, population={"militants": 10})
    militants = model.militants
    assert (militants.risk_estimate == militants_mod.PRIOR_RISK).all()
    rows = np.arange(7)
    militants.point[rows] = [0, 0, 0, 0, 1, 1, 3]
    lost = np.array([True, False, False, False, True, True, False])
    militants._learn(rows, lost, 0.5)
    np.testing.assert_allclose(
        militants.risk_estimate,
        [0.2 + 0.5 * (0.25 - 0.2), 0.2 + 0.5 * (1.0 - 0.2), 0.2, 0.2 + 0.5 * (0.0 - 0.2)],
    )
    militants._learn(rows[:4], lost[:4], 1.0)  # a rate of 1 adopts the latest share outright
    assert militants.risk_estimate[0] == pytest.approx(0.25)


def test_unguarded_points_lose_their_risk_in_a_run(world, routes):
    model = make(
        world,
        routes,
        horizon_days=60,
        population={"militants": 200},
        militants={"infiltrations_per_cell_year": 60.0},
        fence={"sensors": False},
    )
    model.run()
    series = model.timeseries()
    assert series["militant_crossings"].sum() > 0 and series["militant_interdictions"].sum() == 0
    risk = model.militants.risk_estimate
    assert (risk <= militants_mod.PRIOR_RISK).all() and (risk < 0.05).any()


def test_a_risky_point_is_avoided(world, routes):
    n = 3000
    model = make(world, routes, population={"militants": n})
    militants = model.militants
    a, b = point_index(model, (12, 6)), point_index(model, (12, 10))
    rows = np.arange(n)
    here = np.full(n, flat_cell(world, 6, 8))
    there = np.full(n, flat_cell(world, 18, 8))  # points a and b mirror each other about y = 8
    counts = {}
    for risk in (militants_mod.PRIOR_RISK, 1.0):
        militants.risk_estimate[a] = risk
        militants._set_off(model, rows, here, there, militants_mod.TO_POINT)
        counts[risk] = np.bincount(militants.point[rows], minlength=len(model.points))
    even = counts[militants_mod.PRIOR_RISK]
    assert 0.85 < even[a] / even[b] < 1.15  # identical points, equally popular
    risky = counts[1.0]
    assert risky[a] < 0.1 * risky[b]
    assert (militants.state[rows] == militants_mod.TO_POINT).all()


# ------------------------------------------------------------------------------------------------
# Patrols
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weights", "total"),
    [
        ([1, 1, 1], 10),
        ([3, 1], 7),
        ([0.1, 0.2, 0.3, 0.4], 1),
        ([5, 0, 5, 2.5], 13),
        ([1e-9, 1], 3),
    ],
)
def test_largest_remainder_sums_and_is_proportional(weights, total):
    counts = largest_remainder(np.array(weights), total)
    assert counts.sum() == total and (counts >= 0).all()
    exact = np.array(weights) / np.sum(weights) * total
    assert (np.abs(counts - exact) < 1).all()


def test_largest_remainder_edge_cases():
    np.testing.assert_array_equal(largest_remainder(np.array([1.0, 1.0, 1.0]), 1), [1, 0, 0])
    np.testing.assert_array_equal(largest_remainder(np.array([0.0, 0.0]), 5), [0, 0])
    np.testing.assert_array_equal(largest_remainder(np.array([2.0, 1.0]), 0), [0, 0])


def test_static_allocation_follows_stretch_length_and_sector_weights(uneven):
    world, routes = uneven
    model = make(world, routes, patrols={"units": 30})
    np.testing.assert_array_equal(model.points.stretch_km, [10.0, 10.0, 20.0, 20.0])
    np.testing.assert_array_equal(model.patrols.allocate(model.view()), [5, 5, 10, 10])
    surge = make(world, routes, patrols={"units": 30, "sector_weights": {"Khyber": 2.0}})
    np.testing.assert_array_equal(surge.patrols.allocate(surge.view()), [3, 3, 12, 12])
    surge.run(3)
    assert surge.timeseries()["patrol_units.Khyber"].tolist() == [24, 24, 24]


def test_uniform_allocation_is_random_and_respects_sector_weights(uneven):
    world, routes = uneven
    draws = []
    for seed in (1, 2):
        model = make(world, routes, seed=seed, patrols={"units": 40, "strategy": "uniform"})
        counts = [model.patrols.allocate(model.view()) for _ in range(3)]
        assert all(c.sum() == 40 for c in counts)
        assert any((c != counts[0]).any() for c in counts[1:])  # redrawn every day
        draws.append(counts[0])
    assert (draws[0] != draws[1]).any()  # and depends on the seed
    none_south = make(
        world,
        routes,
        patrols={"units": 40, "strategy": "uniform", "sector_weights": {"Chaman": 0.0}},
    )
    counts = none_south.patrols.allocate(none_south.view())
    assert counts[:2].sum() == 0 and counts.sum() == 40


def test_adaptive_allocation_follows_recent_incidents(world, routes):
    model = make(world, routes, patrols={"units": 40, "strategy": "adaptive"})
    patrols = model.patrols
    np.testing.assert_array_equal(patrols.allocate(model.view()), [10, 10, 10, 10])
    model.points.detections[:] = [0, 0, 0, 6]
    model.points.breaches[:] = [0, 0, 0, 4]
    patrols.remember(model.view())
    np.testing.assert_allclose(patrols.incidents, [0, 0, 0, 10])
    counts = patrols.allocate(model.view())
    assert counts.sum() == 40 and counts[3] > 20 and (counts[:3] < 10).all()
    model.points.reset_counts()
    patrols.remember(model.view())  # a quiet day: the memory fades, it does not vanish
    assert 0 < patrols.incidents[3] < 10


def test_stackelberg_allocation_uses_at_most_the_units(world, routes):
    model = make(
        world,
        routes,
        horizon_days=5,
        population={"militants": 100},
        patrols={"units": 25, "strategy": "stackelberg"},
    )
    counts = model.patrols.allocate(model.view())
    assert counts.shape == (len(model.points),) and (counts >= 0).all()
    assert counts.sum() <= 25
    model.run()
    assert (model.timeseries()["patrol_units"] == 25).all()
    assert model.patrols.post.size <= 25


def test_every_strategy_the_schema_allows_has_its_rule():
    # One list of names: the schema's Literal (which the UI offers) and the registered rules.
    assert tuple(ALLOCATORS) == PATROL_STRATEGIES


@pytest.mark.parametrize("strategy", PATROL_STRATEGIES)
def test_each_strategy_posts_every_unit_by_its_own_rule(world, routes, strategy, monkeypatch):
    model = make(world, routes, population={"militants": 20},
                 patrols={"units": 24, "strategy": strategy})  # fmt: skip
    called = []
    rule = ALLOCATORS[strategy]
    monkeypatch.setitem(ALLOCATORS, strategy, lambda p, t: called.append(strategy) or rule(p, t))
    counts = model.patrols.allocate(model.view())
    assert called == [strategy]  # no fallback: the scenario's strategy, and only it, decides
    assert 0 < counts.sum() <= 24 and model.patrols.post.size == counts.sum()


# ------------------------------------------------------------------------------------------------
# Policies: fence wear, trigger rules, corridor
# ------------------------------------------------------------------------------------------------
def test_fence_wear_breaches_repairs_and_clipping(world):
    settings = scenario(
        fence={"coverage": 0.5, "integrity_decay_per_day": 0.001, "breach_damage_km": 0.05}
    )
    policy = PolicyState(settings, world)
    np.testing.assert_array_equal(policy.fence_coverage, [0.5, 0.5])  # 15 km built per sector
    policy.wear_fence(np.array([30.0, 0.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(policy.fence_integrity, [1 - 0.001 - 30 * 0.05 / 15, 1 - 0.001])
    low = policy.fence_integrity.copy()
    policy.wear_fence(np.array([0.0, 0.0]), np.array([75.0, 0.0]))  # 75 units x 0.02 km repaired
    assert policy.fence_integrity[0] == pytest.approx(low[0] - 0.001 + 1.5 / 15)
    policy.wear_fence(np.array([0.0, 0.0]), np.array([10_000.0, 10_000.0]))
    np.testing.assert_array_equal(policy.fence_integrity, [1.0, 1.0])
    policy.wear_fence(np.array([10_000.0, 0.0]), np.array([0.0, 0.0]))
    assert policy.fence_integrity[0] == 0.0
    assert policy.fence_integrity_mean == pytest.approx((0.0 + 0.999) / 2)


def _with_attacks(model, by_day):
    """Replace the militants by a script of attacks per day (the trigger rules read the metric)."""

    def step(model):
        model.metrics.add("attacks", by_day.get(model.day, 0))

    model.militants.step = step
    return model


TRIGGER = {
    "metric": "attacks",
    "window_days": 3,
    "threshold": 4,
    "duration_days": 4,
    "crossings": ["Torkham"],
}


def test_trigger_closes_gates_from_the_next_day_and_reopens(world, routes):
    model = _with_attacks(make(world, routes, horizon_days=20, triggers=[TRIGGER]), {3: 2, 5: 3})
    model.run()
    series = model.timeseries()
    # Attacks on days 3-5 sum to 5 > 4 on day 5: Torkham is shut on days 6-9 and reopens on 10.
    assert series["trigger_closures"].tolist() == [0] * 5 + [1] + [0] * 14
    expected = [1] * 6 + [0] * 4 + [1] * 10
    assert series["open.Torkham"].tolist() == expected
    assert (series["open.Chaman"] == 1).all()  # only the listed gates close


def test_trigger_below_threshold_or_outside_window_does_nothing(world, routes):
    # 4 attacks in a window is not more than the threshold; attacks 3 days apart never share one.
    model = _with_attacks(
        make(world, routes, horizon_days=15, triggers=[TRIGGER]), {2: 4, 5: 4, 8: 4}
    )
    model.run()
    series = model.timeseries()
    assert series["trigger_closures"].sum() == 0 and (series["open.Torkham"] == 1).all()


def test_corridor_gate_stays_open_through_a_trigger(world, routes):
    everything = {**TRIGGER, "crossings": ["all"]}
    model = make(
        world,
        routes,
        horizon_days=12,
        triggers=[everything],
        corridor={"enabled": True, "gates": ["Torkham"]},
    )
    model = _with_attacks(model, {2: 10})
    model.run()
    series = model.timeseries()
    assert series["trigger_closures"].sum() == 1
    assert (series["open.Torkham"] == 1).all()
    assert series["open.Chaman"].tolist() == [1] * 3 + [0] * 4 + [1] * 5


# Regression: history[-(1 - 1):] summed the whole history (fixed in 14f7c59).
def test_one_day_trigger_window_counts_only_today(world, routes):
    one_day = {**TRIGGER, "window_days": 1, "threshold": 3}
    model = _with_attacks(make(world, routes, horizon_days=10, triggers=[one_day]), {1: 2, 4: 2})
    model.run()
    series = model.timeseries()
    assert series["trigger_closures"].sum() == 0  # never more than 2 attacks on one day


# ------------------------------------------------------------------------------------------------
# Determinism
# ------------------------------------------------------------------------------------------------
BUSY = {"traders": 150, "refugees": 300, "militants": 60}


def _run(world, routes, seed):
    model = make(
        world,
        routes,
        seed=seed,
        horizon_days=25,
        population=BUSY,
        patrols={"units": 12, "strategy": "uniform"},
        fence={"coverage": 0.5},
        militants={"infiltrations_per_cell_year": 20.0},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean run: no numpy warnings either
        model.run()
    return model


def test_same_seed_same_run(world, routes):
    first, second = _run(world, routes, 7), _run(world, routes, 7)
    pd.testing.assert_frame_equal(first.timeseries(), second.timeseries())
    pd.testing.assert_frame_equal(first.agent_table(), second.agent_table())
    other = _run(world, routes, 8).timeseries()
    assert (
        not first.timeseries()
        .drop(columns=["day", "date"])
        .equals(other.drop(columns=["day", "date"]))
    )
    assert first.timeseries()[["militant_crossings", "community_crossings"]].to_numpy().sum() > 0


def test_agents_stay_on_the_grid_and_on_land(world, routes):
    model = _run(world, routes, 3)
    table = model.agent_table()
    assert table["x"].between(0, 23).all() and table["y"].between(0, 11).all()
    assert set(table["kind"]) == {"trader", "refugee", "militant", "patrol"}
    country = world.country[table["x"], table["y"]]
    assert np.isin(country, (AF, PK)).all()


# ------------------------------------------------------------------------------------------------
# The declared interface: rules read a frozen daily view and count through the registry's names
# ------------------------------------------------------------------------------------------------
PACKAGE = Path(militants_mod.__file__).parent.parent
RULE_MODULES = sorted((PACKAGE / "rules").glob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):  # TYPE_CHECKING blocks included
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: p.name)
def test_rule_modules_never_import_the_model(path):
    assert "borderabm.model" not in _imported_modules(path)


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: p.name)
def test_rules_count_through_the_registry_names_not_strings(path):
    names = set(SCALARS) | {name for names in BREAKDOWNS.values() for name in names}
    literals = {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert not literals & names


@pytest.mark.parametrize("path", [*RULE_MODULES, PACKAGE / "model.py"], ids=lambda p: p.name)
def test_route_fields_are_read_through_the_network_accessors(path):
    # RouteNetwork.hours and node_flat are the one place that reshapes the fields or ravels node
    # cells (review 2.6: the reshape stood 13 times), so the fields' layout is known in one place.
    text = path.read_text()
    assert "reshape(len(" not in text and "ravel_multi_index" not in text


def test_the_daily_view_is_frozen_and_its_gates_read_only(world, routes):
    model = make(world, routes)
    today = model.view()
    with pytest.raises(dataclasses.FrozenInstanceError):
        today.day = 3
    with pytest.raises(ValueError, match="read-only"):
        today.gates.open[0] = False
    with pytest.raises(ValueError, match="read-only"):
        today.gates.capacity_trucks[:] = 0


def test_fence_wear_counts_every_breach_tallied_at_the_points(world, routes):
    # Breaches reach the fence through the points' own tallies (the model no longer keeps a second
    # tally filled by callbacks from the rules): the day's breach metric equals those tallies.
    model = make(world, routes, horizon_days=20, population={"militants": 200, "traders": 300},
                 militants={"infiltrations_per_cell_year": 60.0},
                 fence={"coverage": 1.0})  # fmt: skip
    breaches = []
    for _ in range(20):
        model.step()
        breaches.append(int(model.points.breaches.sum()))
    series = model.timeseries()
    assert sum(breaches) > 0
    assert series["fence_breaches"].astype(int).tolist() == breaches


# Regression: a dated change to patrol units rebuilt the patrols, restarting their random stream
# from its first draw and clearing the adaptive memory.
def test_a_dated_patrol_change_continues_the_patrol_stream(world, routes):
    model = make(world, routes, patrols={"units": 20, "strategy": "uniform"},
                 changes=[{"day": 2, "set": {"patrols.units": 30}}])  # fmt: skip
    size = len(model.points)
    for _ in range(3):
        model.step()
    drawn = np.bincount(model.patrols.post, minlength=size)
    continued, restarted = model.stream("patrol"), model.stream("patrol")
    even = np.full(size, 1.0 / size)
    for units in (20, 20):  # days 0 and 1, before the change
        continued.choice(size, size=units, p=even)
    expected = np.bincount(continued.choice(size, size=30, p=even), minlength=size)
    from_scratch = np.bincount(restarted.choice(size, size=30, p=even), minlength=size)
    assert model.patrols.n == 30
    assert not np.array_equal(expected, from_scratch)  # the case tells the two apart
    np.testing.assert_array_equal(drawn, expected)


def test_a_dated_patrol_change_keeps_the_adaptive_memory(world, routes):
    model = make(world, routes, patrols={"units": 20, "strategy": "adaptive"},
                 changes=[{"day": 1, "set": {"patrols.units": 30}}])  # fmt: skip
    model.step()
    model.patrols.incidents[:] = [0.0, 0.0, 0.0, 10.0]  # remembered from earlier days
    model.step()  # the change holds from this day; a quiet day: the memory fades
    decay = np.exp(-1.0 / model.settings.patrols.adaptive_memory_days)
    assert model.patrols.n == 30
    np.testing.assert_allclose(model.patrols.incidents, [0.0, 0.0, 0.0, 10.0 * decay])


def test_every_kind_is_a_population_numbered_by_the_shared_constructor(world, routes):
    model = make(world, routes, population={"traders": 30, "refugees": 40, "militants": 10},
                 patrols={"units": 20}, changes=[{"day": 1, "set": {"patrols.units": 25}}])  # fmt: skip
    model.run(2)  # the dated change renumbers the patrols
    for population in model.populations:
        assert isinstance(population, Population)
        assert "__init__" not in vars(type(population))  # one constructor for every kind
        np.testing.assert_array_equal(population.ids, np.arange(population.n))
        assert population.state.dtype == np.int8 and population.state.shape == (population.n,)
        assert population.flat_cells(model).shape == (population.n,)
    assert model.patrols.n == 25 and model.patrols.post.size == 25


def test_choose_on_sides_picks_on_the_wanted_side_in_proportion_to_weight():
    side = np.array([AF, PK, PK, AF, PK])
    weight = np.array([1.0, 1.0, 3.0, 5.0, 0.0])
    wanted = other_side(np.array([PK] * 4000 + [AF] * 4000))
    chosen = choose_on_sides(wanted, side, weight, np.random.default_rng(7))
    np.testing.assert_array_equal(side[chosen], wanted)
    counts = np.bincount(chosen, minlength=side.size)
    assert counts[4] == 0  # no weight, never chosen
    assert counts[3] / counts[0] == pytest.approx(5.0, rel=0.15)
    assert counts[2] / counts[1] == pytest.approx(3.0, rel=0.15)


def test_choose_on_sides_draws_side_by_side_in_the_order_given():
    side, weight = np.array([AF, PK, AF, PK]), np.array([1.0, 2.0, 3.0, 4.0])
    wanted = np.array([PK, AF, PK, AF, AF])
    chosen = choose_on_sides(wanted, side, weight, np.random.default_rng(3), order=(PK, AF))
    rng = np.random.default_rng(3)
    on_pk = rng.choice([1, 3], size=2, p=[2 / 6, 4 / 6])  # Pakistan's places drawn first
    on_af = rng.choice([0, 2], size=3, p=[1 / 4, 3 / 4])
    np.testing.assert_array_equal(chosen[wanted == PK], on_pk)
    np.testing.assert_array_equal(chosen[wanted == AF], on_af)


@pytest.mark.parametrize(
    "module", [militants_mod, refugees_mod, traders_mod], ids=lambda m: m.__name__
)
def test_rules_compare_states_as_plain_ints_not_enum_members(module):
    # numpy casts an int8 array to int64 to compare it with an IntEnum member (about 8x slower).
    from enum import IntEnum

    enums = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, IntEnum)
             and v is not IntEnum]  # fmt: skip
    shorts = [member.name for enum in enums for member in enum]
    assert shorts
    assert all(type(getattr(module, name)) is int for name in shorts)
