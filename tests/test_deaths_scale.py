"""Civilian border deaths are counted in people and do not depend on the agent scale.

Refugee family groups and gate travellers are agents of ``scale.people_per_agent`` people. The
death chances (``patrols.lethal_death_probability`` under lethal force, and
``refugees.terrain_death_per_hour`` on rough ground) are per person, and a group's deaths are drawn
as a binomial over its people, so the same people give the same deaths whether an agent stands for
50 of them or for one.
"""

from __future__ import annotations

import numpy as np
import pytest
from tiny_world import tiny_world

from borderabm.experiments.run import run_one
from borderabm.model import BorderModel
from borderabm.rules.crossing import CrossingPoints, binomial_quantile
from borderabm.scenario import load_scenario, validate_document
from borderabm.world.routes import build_routes
from tests.conftest import SCENARIOS

DAYS = 120
SEEDS = (1, 2, 3)
BASELINE_PEOPLE_PER_AGENT = 50
BASELINE = load_scenario(SCENARIOS / "baseline.toml")


def _border_deaths(people_per_agent: int, seed: int) -> float:
    """Border deaths of the baseline (no escalation rule) with the same people at another scale."""
    population = BASELINE.population
    assert BASELINE.scale.people_per_agent == BASELINE_PEOPLE_PER_AGENT
    groups = population.refugees * BASELINE_PEOPLE_PER_AGENT // people_per_agent
    communities = (population.communities or 0) * BASELINE_PEOPLE_PER_AGENT // people_per_agent
    settings = load_scenario(
        SCENARIOS / "baseline.toml",
        {
            "horizon_days": DAYS,
            "seed": seed,
            "triggers": [],
            "scale.people_per_agent": people_per_agent,
            "population.refugees": groups,  # gate travellers are already sized in people
            "population.communities": communities,
        },
    )
    return float(run_one(settings).summary["border_deaths"])


def test_border_deaths_do_not_depend_on_people_per_agent():
    coarse = np.mean([_border_deaths(BASELINE_PEOPLE_PER_AGENT, seed) for seed in SEEDS])
    fine = np.mean([_border_deaths(10, seed) for seed in SEEDS])
    assert coarse > 20  # enough deaths for the comparison to mean something
    # One death per agent would give five times the deaths at 10 people per agent.
    assert 1 / 1.5 < fine / coarse < 1.5


def test_border_deaths_are_reproducible_at_a_fine_scale():
    assert _border_deaths(10, seed=4) == _border_deaths(10, seed=4)


@pytest.fixture(scope="module")
def tiny():
    world = tiny_world()
    return world, build_routes(world, use_cache=False)


def _lethal_points(tiny):
    """Every point patrolled heavily under lethal force; every stopped person is killed at 0.5."""
    world, routes = tiny
    settings = validate_document(
        {
            "name": "lethal",
            "horizon_days": 30,
            "population": {"traders": 0, "refugees": 0, "militants": 0},
            "fence": {"coverage": 0.0},
            "patrols": {"units": 0, "lethal_force": True, "lethal_death_probability": 0.5},
        },
        "lethal.toml",
    )
    points = CrossingPoints(world, routes)
    sectors = len(world.sectors)
    points.update(settings, np.zeros(sectors), np.ones(sectors), np.full(len(points), 60.0))
    return points, settings


ATTEMPTS = np.repeat(np.arange(4), 1000)  # 1,000 attempts at each of the tiny world's 4 points


def test_a_stopped_group_loses_a_binomial_share_of_its_people(tiny):
    points, settings = _lethal_points(tiny)
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(5), can_breach=False, civilian=True, people=20
    )
    stopped = outcome.interdicted
    assert 500 < stopped.sum() < ATTEMPTS.size - 500  # both kinds are there
    assert outcome.deaths[stopped].mean() == pytest.approx(10.0, abs=0.5)
    assert outcome.deaths[stopped].var() == pytest.approx(20 * 0.5 * 0.5, rel=0.25)
    assert not outcome.deaths[~stopped].any()
    # A group is killed only if all its 20 people are: (1/2)^20, never in 4,000 attempts.
    assert not outcome.killed.any()


def test_one_person_per_attempt_is_killed_or_not(tiny):
    points, settings = _lethal_points(tiny)
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(6), can_breach=False, civilian=True
    )
    np.testing.assert_array_equal(outcome.killed, outcome.deaths == 1)
    assert outcome.deaths.max() == 1
    assert outcome.killed[outcome.interdicted].mean() == pytest.approx(0.5, abs=0.05)


def test_militant_cells_are_killed_whole_and_count_no_civilian_deaths(tiny):
    points, settings = _lethal_points(tiny)
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(7), can_breach=True, civilian=False, people=20
    )
    assert outcome.killed.any() and not outcome.deaths.any()
    assert (outcome.killed <= outcome.interdicted).all()


def test_attempts_with_people_are_deterministic(tiny):
    draws = []
    for _ in range(2):
        points, settings = _lethal_points(tiny)
        outcome = points.attempt(
            ATTEMPTS, settings, np.random.default_rng(8), can_breach=False, civilian=True, people=7
        )
        draws.append(outcome.deaths)
    np.testing.assert_array_equal(*draws)


@pytest.mark.parametrize(("trials", "probability"), [(50, 0.001), (20, 0.5), (100_000, 0.3)])
def test_binomial_quantile_draws_the_binomial(trials, probability):
    uniform = np.random.default_rng(9).random(20_000)
    draws = binomial_quantile(uniform, trials, probability)
    mean, variance = trials * probability, trials * probability * (1 - probability)
    assert draws.min() >= 0 and draws.max() <= trials
    assert draws.mean() == pytest.approx(mean, abs=4 * np.sqrt(variance / uniform.size))
    assert draws.var() == pytest.approx(variance, rel=0.1)


def test_binomial_quantile_at_the_edges():
    uniform = np.array([0.0, 0.5, 1 - 1e-12])
    np.testing.assert_array_equal(binomial_quantile(uniform, 7, 0.0), 0)
    np.testing.assert_array_equal(binomial_quantile(uniform, 7, 1.0), 7)
    np.testing.assert_array_equal(binomial_quantile(uniform, 1, 0.5), [0, 1, 1])


def test_the_dead_of_every_kind_that_can_die_are_left_off_the_map_counts():
    from borderabm.apps.ui.inspection import _agents_near
    from borderabm.rules.gate_travellers import DEAD as TRAVELLER_DEAD

    model = BorderModel(load_scenario(SCENARIOS / "baseline.toml", {"horizon_days": 1}))
    travellers = model.gate_travellers
    x, y = np.unravel_index(travellers.flat_cells(model)[0], model.world.grid.shape)
    before = _agents_near(model, int(x), int(y))
    here = travellers.flat_cells(model) == travellers.flat_cells(model)[0]
    travellers.state[here] = TRAVELLER_DEAD
    assert not travellers.living()[here].any() and travellers.living()[~here].all()
    after = _agents_near(model, int(x), int(y))
    assert "gate_traveller" in before and before != after
