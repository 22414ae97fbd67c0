"""Dated events (issue 13): calendar dates in scenario files, the conditions behind militancy,
attacks by groups based in Pakistan, and episodes cut from a history."""

import datetime as dt

import numpy as np
import pytest

from borderabm.metrics import MetricName, breakdown_column
from borderabm.model import BorderModel
from borderabm.rules.militants import BALOCHISTAN, KP
from borderabm.rules.refugees import COMMUNITY
from borderabm.scenario import ScenarioError, cut, load_scenario, validate_document
from borderabm.world.world import PK
from tests.test_bad_input_cli import error_of, invoke

HISTORY = {
    "name": "history",
    "start_date": dt.date(2016, 1, 1),
    "horizon_days": 731,
    "fence": {
        "schedule": [
            {"date": dt.date(2017, 3, 1), "coverage": 0.0},
            {"date": dt.date(2017, 12, 31), "coverage": 0.3, "source": "ISPR"},
        ]
    },
    "crossings": {
        "Torkham": {
            "document_regime": "open",
            "closures": [
                {"start": dt.date(2016, 6, 12), "end": dt.date(2016, 6, 18), "source": "dawn"}
            ],
        }
    },
    "changes": [
        {
            "date": dt.date(2016, 6, 1),
            "set": {"crossings.Torkham.document_regime": "passport_visa"},
            "source": "arynews.tv",
        },
        {"date": dt.date(2017, 2, 16), "set": {"conditions.active": ["ceasefire"]}},
    ],
}


def test_dates_become_days_from_the_start_date():
    scenario = validate_document(HISTORY, "history.toml")
    assert [c.day for c in scenario.changes] == [152, 412]
    assert scenario.changes[0].date == dt.date(2016, 6, 1)
    assert scenario.changes[0].source == "arynews.tv"
    closure = scenario.crossings["Torkham"].closures[0]
    assert (closure.start, closure.end, closure.source) == (163, 169, "dawn")
    assert [p.day for p in scenario.fence.schedule] == [425, 730]


def test_a_date_before_the_start_is_refused_with_its_key():
    document = {**HISTORY, "start_date": dt.date(2016, 7, 1)}
    with pytest.raises(ScenarioError) as caught:
        validate_document(document, "history.toml")
    assert caught.value.problems == [
        "changes[0].date: 2016-06-01 is before the scenario's start_date 2016-07-01 "
        "(allowed: a date from the start on)"
    ]


def test_a_cut_starts_from_the_state_of_the_border_on_its_first_day():
    history = validate_document(HISTORY, "history.toml")
    episode = cut(history, dt.date(2016, 6, 15), dt.date(2017, 6, 30))
    assert episode.start_date == dt.date(2016, 6, 15) and episode.horizon_days == 381
    # The change of 1 June 2016 is in force from day 0; the one of 16 February 2017 is kept.
    assert episode.crossings["Torkham"].document_regime == "passport_visa"
    assert [(c.day, c.date) for c in episode.changes] == [(246, dt.date(2017, 2, 16))]
    # A closure under way on the first day runs from day 0 to its end.
    closure = episode.crossings["Torkham"].closures[0]
    assert (closure.start, closure.end) == (0, 3)
    # The fence schedule keeps its dates: the same coverage on the same calendar day.
    days = {p.day: p.coverage for p in episode.fence.schedule}
    assert days[0] == 0.0 and days[(dt.date(2017, 12, 31) - episode.start_date).days] == 0.3


def test_a_cut_drops_what_comes_after_its_window():
    history = validate_document(HISTORY, "history.toml")
    episode = cut(history, dt.date(2016, 1, 1), dt.date(2016, 5, 31))
    assert episode.changes == () and episode.crossings["Torkham"].closures == ()
    assert episode.crossings["Torkham"].document_regime == "open"


def test_a_window_outside_the_history_is_refused():
    history = validate_document(HISTORY, "history.toml")
    with pytest.raises(ScenarioError) as caught:
        cut(history, dt.date(2015, 12, 1), dt.date(2016, 3, 1), "episode.toml")
    assert "not within the history" in caught.value.problems[0]


def test_an_episode_file_loads_as_the_cut_of_its_history(tmp_path, write_toml):
    import tomlkit

    (tmp_path / "history.toml").write_text(tomlkit.dumps(HISTORY))
    path = write_toml(
        'cut_from = "history"\nstart_date = 2016-06-15\nend_date = 2016-12-31\nseed = 7\n',
        "episode.toml",
    )
    episode = load_scenario(path)
    expected = cut(validate_document(HISTORY, "h"), dt.date(2016, 6, 15), dt.date(2016, 12, 31))
    assert episode.name == "episode" and episode.seed == 7
    assert episode.crossings == expected.crossings and episode.fence == expected.fence


def test_an_episode_file_lays_its_own_values_over_the_cut(tmp_path, write_toml):
    import tomlkit

    (tmp_path / "history.toml").write_text(tomlkit.dumps(HISTORY))
    path = write_toml(
        'cut_from = "history"\nstart_date = 2016-06-15\nend_date = 2016-12-31\n'
        "[population]\nmilitants = 5\n[crossings.Torkham]\nhours_open = 12.0\n",
        "episode.toml",
    )
    episode = load_scenario(path)
    torkham = episode.crossings["Torkham"]
    assert episode.population.militants == 5 and torkham.hours_open == 12.0
    assert torkham.document_regime == "passport_visa" and len(torkham.closures) == 1


def test_a_bad_episode_file_gives_one_error_line(write_toml):
    path = write_toml(
        'cut_from = "baseline"\nstart_date = 2025-02-01\nend_date = 2024-03-01\n', "episode.toml"
    )
    line = error_of(invoke("validate", path))
    assert line == (
        f"error: {path}: start_date, end_date: 2025-02-01 to 2024-03-01 is not within the history "
        "(allowed: 2025-01-01 to 2025-12-31, start on or before end)"
    )


def test_domestic_attacks_strike_their_province_without_crossing(world):
    document = {
        "horizon_days": 120,
        "population": {"militants": 0},
        "militants": {"domestic_attacks_kp": 30.0, "domestic_attacks_balochistan": 90.0},
    }
    model = BorderModel(validate_document(document, "t.toml"), world=world)
    model.run()
    series = model.timeseries()
    kp, balochistan = (
        series[MetricName.ATTACKS_KP].sum(),
        series[MetricName.ATTACKS_BALOCHISTAN].sum(),
    )
    # 10 and 30 expected over 120 days; Poisson spread of a few.
    assert 2 <= kp <= 22 and 15 <= balochistan <= 50
    assert series[MetricName.MILITANT_CROSSINGS].sum() == 0
    assert series[MetricName.ATTACKS].sum() == kp + balochistan == series["domestic_attacks"].sum()
    assert (series[MetricName.ATTACKS_KP] == series[breakdown_column(MetricName.ATTACKS, KP)]).all()
    balochistan_column = breakdown_column(MetricName.ATTACKS, BALOCHISTAN)
    assert (series[MetricName.ATTACKS_BALOCHISTAN] == series[balochistan_column]).all()


@pytest.mark.parametrize(("active", "strength", "lower"), [("ceasefire", 0.0, True),
                                                           ("afghan_sanctuary", 3.0, False)])  # fmt: skip
def test_a_condition_in_force_scales_militant_activity(world, active, strength, lower):
    base = {
        "horizon_days": 90,
        "militants": {"domestic_attacks_kp": 100.0, "infiltrations_per_cell_year": 2.0},
    }
    plain = BorderModel(validate_document(base, "t.toml"), world=world)
    plain.run()
    document = {**base, "conditions": {"active": [active], active: strength}}
    conditioned = BorderModel(validate_document(document, "t.toml"), world=world)
    conditioned.run()
    before = plain.summary()
    after = conditioned.summary()
    for metric in ("militant_crossings", "domestic_attacks"):
        assert (after[metric] < before[metric]) if lower else (after[metric] > 1.5 * before[metric])
    if strength == 0.0:
        assert after["militant_crossings"] == 0 and after["domestic_attacks"] == 0


def test_a_dated_condition_switches_on_at_its_date(world):
    document = {
        "start_date": dt.date(2022, 5, 1),
        "horizon_days": 60,
        "militants": {"domestic_attacks_kp": 300.0},
        "changes": [
            {"date": dt.date(2022, 6, 1), "set": {"conditions.active": ["ceasefire"]}},
        ],
        "conditions": {"ceasefire": 0.0},
    }
    model = BorderModel(validate_document(document, "t.toml"), world=world)
    model.run()
    domestic = model.timeseries()["domestic_attacks"].to_numpy()
    assert domestic[:31].sum() > 0 and domestic[31:].sum() == 0


def test_registered_refugees_is_the_stock_of_proof_of_registration_holders(world):
    document = {"horizon_days": 3, "population": {"registered_share": 0.5}}
    model = BorderModel(validate_document(document, "t.toml"), world=world)
    model.run()
    refugees = model.refugees
    holders = np.count_nonzero(refugees.registered & (refugees.side == PK) & refugees.living())
    assert model.timeseries()[MetricName.REGISTERED_REFUGEES].iloc[-1] == pytest.approx(
        holders * model.people_per_agent
    )
    assert model.summary()["registered_refugees_mean"] > 0


def test_border_communities_can_be_a_fixed_number_apart_from_the_refugees(world):
    document = {"horizon_days": 1, "population": {"refugees": 300, "communities": 120}}
    model = BorderModel(validate_document(document, "t.toml"), world=world)
    group = model.refugees.group
    assert model.refugees.n == 420
    assert np.count_nonzero(group == COMMUNITY) == 120 and (group[300:] == COMMUNITY).all()
    more = {"horizon_days": 1, "population": {"refugees": 3000, "communities": 120}}
    bigger = BorderModel(validate_document(more, "t.toml"), world=world)
    # More refugees, the same border communities (a share would have grown them tenfold).
    assert np.count_nonzero(bigger.refugees.group == COMMUNITY) == 120


def test_a_run_of_the_history_writes_the_named_daily_series(tmp_path):
    import pandas as pd

    from tests.test_bad_input_cli import ok

    ok(invoke("run", "history_2014_2025", "--days", "5", "--out", tmp_path / "run"))
    series = pd.read_parquet(tmp_path / "run" / "timeseries.parquet")
    named = ["date", "attacks_kp", "attacks_balochistan", "formal_trade_usd", "fence_share",
             "formal_returns", "deported_people", "gate_people", "gate_trucks",
             "gate_people.Torkham", "gate_trucks.Torkham", "stranded_people", "stranded_trucks",
             "trade_lost_usd", "registered_refugees"]  # fmt: skip
    assert [c for c in named if c not in series.columns] == []
    assert str(series["date"].iloc[0])[:10] == "2014-01-01" and len(series) == 5


def test_attacks_of_groups_based_in_pakistan_do_not_move_with_border_policy(world):
    # Their own random stream: more patrols change the cells' luck, never the domestic attacks.
    base = {"horizon_days": 60, "militants": {"domestic_attacks_kp": 200.0}}
    plain = BorderModel(validate_document(base, "t.toml"), world=world)
    patrolled = BorderModel(
        validate_document({**base, "patrols": {"units": 3000}}, "t.toml"), world=world
    )
    plain.run()
    patrolled.run()
    domestic = "domestic_attacks"
    assert (plain.timeseries()[domestic] == patrolled.timeseries()[domestic]).all()
    assert plain.summary()["militant_crossings"] != patrolled.summary()["militant_crossings"]
