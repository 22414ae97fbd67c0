"""Civilians and the fence: a way through at a cost and a risk, so a fence's local effect is partial.

Refugees and border communities do not cut the fence. A group that meets it goes through a gap or
with a paid guide with ``fence.civilian_passage_probability`` (seen at the gap with
``fence.passage_detection_probability``), else turns back; choosing a point, it weighs the walk
wasted if turned back and the fee. The validation suite reports the local effect of fencing North
and South Waziristan beside Feigenberg's (2020) -27%.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest
from tiny_world import tiny_world

from borderabm.analysis.validation import FACTS_BY_ID, paired_effect
from borderabm.analysis.validation.facts import (
    FEIGENBERG_FENCED,
    FEIGENBERG_NEIGHBOURS,
    NO_FENCE,
    STYLIZED_FACT,
    WAZIRISTAN_FENCED,
    Arm,
)
from borderabm.analysis.validation.suite import FactResult, ValidationRun
from borderabm.experiments.run import run_one
from borderabm.metrics import MetricName, breakdown_column
from borderabm.model import BorderModel
from borderabm.report.validation import html_page, markdown, table_rows
from borderabm.rules import refugees as refugees_mod
from borderabm.rules.crossing import CrossingPoints
from borderabm.scenario import load_scenario, validate_document
from borderabm.world.routes import build_routes
from tests.conftest import SCENARIOS

NO_PASSAGE = {"civilian_passage_probability": 0.0}
ATTEMPTS = np.repeat(np.arange(4), 2000)  # 2,000 attempts at each of the tiny world's 4 points


@pytest.fixture(scope="module")
def tiny():
    world = tiny_world()
    return world, build_routes(world, use_cache=False)


def scenario(**document):
    """A quiet tiny scenario (no agents, no patrols) with ``document``'s sections merged in."""
    base = {
        "name": "tiny",
        "horizon_days": 30,
        "population": {"traders": 0, "refugees": 0, "militants": 0},
        "patrols": {"units": 0},
    }
    for key, value in document.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return validate_document(base, "tiny.toml")


def full_fence(tiny, **fence):
    """The crossing points behind a complete, intact fence; no patrols, no sensors."""
    world, routes = tiny
    settings = scenario(fence={"sensors": False, **fence})
    points = CrossingPoints(world, routes)
    sectors = len(world.sectors)
    points.update(settings, np.ones(sectors), np.ones(sectors), np.zeros(len(points)))
    return points, settings


# The attempt at the fence ---------------------------------------------------------------------
def test_at_a_full_fence_some_civilians_find_a_way_and_the_rest_turn_back(tiny):
    points, settings = full_fence(tiny)
    assert settings.fence.civilian_passage_probability == 0.5
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(0), can_breach=False, civilian=True
    )
    assert outcome.passed.mean() == pytest.approx(0.5, abs=0.03)
    np.testing.assert_array_equal(outcome.blocked, ~outcome.passed)  # everyone met the fence
    # Through a gap, not cut: no breach (the fence is not worn), a passage tallied per point.
    assert not outcome.breached.any() and points.breaches.sum() == 0
    np.testing.assert_array_equal(points.passages, np.bincount(ATTEMPTS[outcome.passed]))
    # Nobody watches but the gap's post, which sees 10% of those going through; 60% of those are
    # stopped.
    assert points.detections.sum() / outcome.passed.sum() == pytest.approx(0.1, abs=0.02)
    assert not (outcome.interdicted & ~outcome.passed).any()
    np.testing.assert_array_equal(outcome.crossed, outcome.passed & ~outcome.interdicted)


def test_without_passage_nobody_gets_through_a_full_fence(tiny):
    points, settings = full_fence(tiny, **NO_PASSAGE)
    outcome = points.attempt(
        ATTEMPTS, settings, np.random.default_rng(0), can_breach=False, civilian=True
    )
    assert outcome.blocked.all()
    assert not (outcome.passed.any() or outcome.crossed.any() or outcome.interdicted.any())


def test_breachers_do_not_draw_on_the_passage(tiny):
    # Militants and smugglers cut through as before, whatever the civilians' passage chance.
    for passage in (0.0, 0.5, 1.0):
        points, settings = full_fence(tiny, civilian_passage_probability=passage)
        outcome = points.attempt(
            ATTEMPTS, settings, np.random.default_rng(3), can_breach=True, civilian=False
        )
        assert outcome.breached.all() and outcome.crossed.all()
        assert not (outcome.passed.any() or outcome.blocked.any())


def test_communities_cross_a_full_fence_at_a_cost_without_wearing_it(tiny):
    world, routes = tiny
    visits = {"community_trips_per_year": 180.0, "voluntary_return_per_year": 0.0,
              "displacement_per_year": 0.0}  # fmt: skip
    runs = {}
    for passage in (0.0, 0.5):
        settings = scenario(
            horizon_days=15,
            population={"refugees": 400, "community_share": 1.0},
            refugees=visits,
            fence={"coverage": 1.0, "integrity_decay_per_day": 0.0,
                   "civilian_passage_probability": passage},
        )  # fmt: skip
        model = BorderModel(settings, world=world, routes=routes)
        model.run()
        runs[passage] = model.timeseries()
    assert runs[0.0]["community_crossings"].sum() == 0
    series = runs[0.5]
    assert series["community_crossings"].sum() > 50 * 50  # people: some groups get through
    assert series["community_trips_blocked"].sum() > 0  # and some are turned back
    assert series["fence_breaches"].sum() == 0 and (series["fence_integrity"] == 1.0).all()


def _fenced_choices(tiny, **fence):
    """How many of 400 community groups choose a point in the fenced sector (Chaman) to cross."""
    world, routes = tiny
    settings = scenario(
        population={"refugees": 400, "community_share": 1.0},
        refugees={"community_trips_per_year": 0.0, "voluntary_return_per_year": 0.0,
                  "displacement_per_year": 0.0},
        fence={"integrity_decay_per_day": 0.0, **fence},
    )  # fmt: skip
    model = BorderModel(settings, world=world, routes=routes)
    model.step()  # today's fence and detection at the points; nobody moves
    refugees = model.refugees
    rows = np.arange(refugees.n)
    refugees._leave_irregularly(model.view(), rows)
    chosen = refugees.point[rows][refugees.state[rows] == refugees_mod.TO_POINT]
    return int(np.count_nonzero(model.points.sector[chosen] == 0))


def test_the_fence_makes_a_point_costlier_not_forbidden(tiny):
    open_line = _fenced_choices(tiny)
    free_passage = _fenced_choices(tiny, sectors={"Chaman": 1.0}, passage_fee_usd=0.0)
    dear_passage = _fenced_choices(tiny, sectors={"Chaman": 1.0}, passage_fee_usd=10_000.0)
    # The walk wasted if turned back, then the fee, steer those who have a choice away...
    assert open_line > free_passage > dear_passage
    # ...but those with no unfenced point within reach still go to the fence.
    assert dear_passage > 0


# The local effect on the real map ---------------------------------------------------------------
DAYS = 120


def _sector_total(series: pd.DataFrame, sectors: tuple[str, ...]) -> float:
    columns = [breakdown_column(MetricName.IRREGULAR_CROSSINGS, s) for s in sectors]
    return float(series[columns].to_numpy().sum())


def _run(arm: Arm, seed: int = 1, **overrides) -> pd.DataFrame:
    settings = load_scenario(
        SCENARIOS / f"{arm.scenario}.toml",
        {**arm.overrides, **overrides, "horizon_days": DAYS, "seed": seed},
    )
    return run_one(settings).timeseries


@pytest.fixture(scope="module")
def feigenberg_arms():
    return _run(NO_FENCE), _run(WAZIRISTAN_FENCED)


def test_fencing_waziristan_cuts_its_crossings_partly_and_raises_the_neighbours(feigenberg_arms):
    control, treatment = feigenberg_arms
    local = _sector_total(treatment, FEIGENBERG_FENCED) / _sector_total(control, FEIGENBERG_FENCED)
    assert 0.10 < local < 0.95  # a partial fall (-90% to -5%), not the -100% of an impassable fence
    neighbours = _sector_total(treatment, FEIGENBERG_NEIGHBOURS)
    assert neighbours > 1.05 * _sector_total(control, FEIGENBERG_NEIGHBOURS)


def test_an_impassable_fence_empties_the_fenced_sectors():
    # The case that tells the two apart: without passage the fenced sectors see no civilian.
    treatment = _run(WAZIRISTAN_FENCED, **{"fence.civilian_passage_probability": 0.0})
    assert _sector_total(treatment, FEIGENBERG_FENCED) == 0


def test_irregular_civilian_crossings_are_refugees_communities_and_travellers_away_from_the_gates(
    feigenberg_arms,
):
    baseline = _run(Arm("baseline"))
    for series in (baseline, *feigenberg_arms):
        everyone = series[MetricName.IRREGULAR_CIVILIAN_CROSSINGS]
        refugees = (
            series[MetricName.REFUGEE_CROSSINGS_IRREGULAR] + series[MetricName.COMMUNITY_CROSSINGS]
        )
        # Gate travellers without the documents a gate asks for cross irregularly too.
        assert (everyone >= refugees).all() and everyone.sum() > refugees.sum() > 0
        # The same people, counted by sector where they crossed.
        by_sector = series.filter(like=f"{MetricName.IRREGULAR_CROSSINGS}.").sum(axis=1)
        np.testing.assert_array_equal(everyone, by_sector)


def test_the_same_seed_gives_the_same_run(feigenberg_arms):
    _, treatment = feigenberg_arms
    pd.testing.assert_frame_equal(_run(WAZIRISTAN_FENCED), treatment)


# The validation report --------------------------------------------------------------------------
def test_the_report_shows_the_local_effect_beside_feigenbergs():
    fact = FACTS_BY_ID["fence_cuts_local_crossings"]
    assert fact.kind == STYLIZED_FACT and not fact.mechanism
    assert fact.published is not None and fact.published.relative_change == -0.27
    assert FACTS_BY_ID["fence_cuts_family_visits"].kind == STYLIZED_FACT
    control = [100.0, 110.0, 120.0, 90.0, 80.0]
    treatment = [c * 0.6 for c in control]  # -40% in every pair
    effect = paired_effect(control, treatment, fact.expected)
    result = FactResult(fact, 120, tuple(control), tuple(treatment), effect)
    run = ValidationRun([result], 5, [1, 2, 3, 4, 5], {}, "", "", 0.0, 10, 10, 1)
    [row] = table_rows(run)
    assert row["relative"] == "-40.0%" and row["published"] == "-27%"
    for text in (markdown(run), html.unescape(html_page(run))):
        assert "Size against the published estimate" in text
        assert "the model's relative change -40.0% (95% interval" in text
        assert "against -27% (Feigenberg 2020; US-Mexico border fence" in text
    # A run without such a fact has no "published" column.
    other = FACTS_BY_ID["fence_draws_breaches"]
    plain = FactResult(other, 120, tuple(control), tuple(control[::-1]), effect)
    assert (
        "published"
        not in table_rows(ValidationRun([plain], 5, [1, 2, 3, 4, 5], {}, "", "", 0.0, 10, 10, 1))[0]
    )
