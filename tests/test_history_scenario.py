"""The recorded history 2014–2025 as a scenario: its events, their sources, its cuts and the state it puts
the model in on dates the record gives (docs/history.md).

The model runs here are cuts of a few weeks, never the twelve years.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib

import pytest

from borderabm.experiments.run import run_one
from borderabm.scenario import load_scenario, shipped_scenarios_dir
from borderabm.scenario.history import cut

SCENARIOS = shipped_scenarios_dir()
HISTORY_PATH = SCENARIOS / "history_2014_2025.toml"
RAW = tomllib.loads(HISTORY_PATH.read_text())
DOCS = (SCENARIOS.parent.parent.parent / "docs" / "history.md").read_text()
# The gates the model keeps open in normal times: an "all crossings" closure closes these.
ALL_GATES = ("Torkham", "Chaman", "Angoor Adda", "Ghulam Khan", "Kharlachi", "Arandu", "Badini")
CONFIDENCE = re.compile(r";\s*[HML]\b")
EPISODES = {
    "episode_closure_feb2017": (dt.date(2017, 1, 15), dt.date(2017, 4, 30)),
    "episode_torkham_feb2025": (dt.date(2025, 2, 1), dt.date(2025, 4, 30)),
    "episode_deportation_oct2023": (dt.date(2023, 10, 1), dt.date(2024, 6, 30)),
    "episode_closures_oct2025": (dt.date(2025, 9, 1), dt.date(2025, 12, 31)),
    "history_2024": (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
}


@pytest.fixture(scope="module")
def history():
    return load_scenario(HISTORY_PATH)


def state_on(history, day: dt.date):
    """The history's levers in force on a day, after that day's events.

    A cut's own levers are the state before its first day's events (those stay in the window as
    changes on day 0), so the state after a day is that of a cut starting the next day.
    """
    after = day + dt.timedelta(days=1)
    return cut(history, after, after)


def daily(history, start: dt.date, end: dt.date):
    """The daily series of a short cut of the history, indexed by calendar date."""
    frame = run_one(cut(history, start, end)).timeseries
    return frame.set_index(frame["date"].dt.date)


def raw_events():
    """Every dated event of the TOML: (date, kind, detail) for fence points, closures and changes."""
    events = [(p["date"], "fence", p) for p in RAW["fence"]["schedule"]]
    for gate, table in RAW["crossings"].items():
        events += [(c["start"], f"closure:{gate}", c) for c in table.get("closures", [])]
    events += [(c["date"], "change", c) for c in RAW["changes"]]
    return events


def docs_rows():
    """The rows of docs/history.md's table of dated events: (date, the rest of the row)."""
    rows = []
    for line in DOCS.splitlines():
        match = re.match(r"\|\s*(\d{4}-\d{2}-\d{2})\s*\|(.*)\|\s*$", line)
        if match:
            rows.append((dt.date.fromisoformat(match.group(1)), match.group(2)))
    return rows


def test_the_history_loads_as_twelve_years_that_replay_the_record(history):
    assert history.start_date == dt.date(2014, 1, 1)
    assert history.end_date == dt.date(2025, 12, 31)
    assert history.seed == 1
    assert history.triggers == ()  # it replays what happened; the 2025 escalation rule is a what-if
    assert len(history.changes) == len(RAW["changes"])
    assert [c.day for c in history.changes] == sorted(c.day for c in history.changes)
    # Condition strengths are the fitted ones (the next test): never set by a dated event, which
    # only switches conditions on and off.
    for change in RAW["changes"]:
        assert all(
            not k.startswith("conditions.") or k == "conditions.active" for k in change["set"]
        )


def test_the_history_shares_the_fitted_values_of_the_2025_baseline(history):
    baseline = load_scenario(SCENARIOS / "baseline.toml")
    for section in ("scale", "population", "traders", "gate_travellers"):
        assert getattr(history, section) == getattr(baseline, section), section
    for key in (
        "infiltrations_per_cell_year",
        "domestic_attacks_kp",
        "domestic_attacks_balochistan",
    ):
        assert getattr(history.militants, key) == getattr(baseline.militants, key), key
    strengths = ("military_operations", "afghan_sanctuary", "ceasefire")
    assert [getattr(history.conditions, k) for k in strengths] == [
        getattr(baseline.conditions, k) for k in strengths
    ]


def test_every_dated_event_has_a_source_with_a_confidence():
    events = raw_events()
    assert len(events) > 60
    missing = [(date, kind) for date, kind, item in events if not item.get("source", "").strip()]
    assert not missing, f"events without a source: {missing}"
    unrated = [(date, kind) for date, kind, item in events if not CONFIDENCE.search(item["source"])]
    assert not unrated, f"sources without a confidence H/M/L: {unrated}"


def test_docs_list_every_dated_event_of_the_toml_and_nothing_else():
    rows = docs_rows()
    for date, kind, item in raw_events():
        same_day = [text for day, text in rows if day == date]
        if kind == "fence":
            wanted = ["`fence.schedule`"]
        elif kind.startswith("closure:"):
            wanted = [f"`crossings.{kind.split(':', 1)[1]}.closures`"]
        else:
            wanted = [f"`{key}`" for key in item["set"]]
        assert any(all(w in text for w in wanted) for text in same_day), (date, kind, wanted)
    assert len(rows) == len(raw_events())  # no row for an event the TOML does not have


@pytest.mark.parametrize(("when", "hours", "regime"), [
    (dt.date(2016, 5, 31), 12.0, "open"),
    (dt.date(2016, 6, 1), 12.0, "passport_visa"),
    (dt.date(2019, 9, 17), 12.0, "passport_visa"),
    (dt.date(2019, 9, 18), 24.0, "passport_visa"),
    (dt.date(2025, 6, 1), 24.0, "passport_visa"),
])  # fmt: skip
def test_torkham_hours_and_documents_on_recorded_dates(history, when, hours, regime):
    torkham = state_on(history, when).crossings["Torkham"]
    assert (torkham.hours_open, torkham.document_regime) == (hours, regime)


def test_chaman_and_the_small_gates_pass_to_the_one_document_regime_on_1_nov_2023(history):
    before = state_on(history, dt.date(2023, 10, 31)).crossings
    after = state_on(history, dt.date(2023, 11, 1)).crossings
    for gate in ALL_GATES[1:]:
        assert before[gate].document_regime == "border_permit", gate
    for gate in ALL_GATES:
        assert after[gate].document_regime == "passport_visa", gate


@pytest.mark.parametrize(("when", "active"), [
    (dt.date(2014, 6, 14), set()),
    (dt.date(2014, 6, 15), {"military_operations"}),
    (dt.date(2021, 8, 14), {"military_operations"}),
    (dt.date(2021, 8, 15), {"military_operations", "afghan_sanctuary"}),
    (dt.date(2022, 7, 1), {"military_operations", "afghan_sanctuary", "ceasefire"}),
    (dt.date(2022, 11, 28), {"military_operations", "afghan_sanctuary"}),
    (dt.date(2025, 12, 30), {"military_operations", "afghan_sanctuary"}),
])  # fmt: skip
def test_conditions_in_force_on_recorded_dates(history, when, active):
    assert set(state_on(history, when).conditions.active) == active


def test_lethal_force_from_2017_and_the_deportation_phases(history):
    assert not state_on(history, dt.date(2016, 12, 31)).patrols.lethal_force
    assert state_on(history, dt.date(2017, 1, 1)).patrols.lethal_force
    assert not state_on(history, dt.date(2023, 10, 31)).deportation.enabled
    phase1 = state_on(history, dt.date(2023, 11, 1)).deportation
    assert phase1.enabled and not phase1.include_registered
    phase3 = state_on(history, dt.date(2025, 9, 1)).deportation
    assert phase3.enabled and phase3.include_registered
    assert phase3.daily_rate > phase1.daily_rate  # the liable stock grew with each phase


def test_the_fence_follows_the_published_build_up(history):
    start = history.start_date

    def coverage(year, month, day):
        return history.fence.coverage_on((dt.date(year, month, day) - start).days)

    assert coverage(2016, 12, 31) == 0.0
    assert coverage(2018, 12, 15) == pytest.approx(0.31)
    assert coverage(2020, 12, 5) == pytest.approx(0.83)
    assert coverage(2022, 1, 5) == pytest.approx(0.94)
    assert coverage(2025, 12, 31) == pytest.approx(0.98)


def test_every_gate_is_shut_during_the_2017_closure_and_open_either_side(history):
    series = daily(history, dt.date(2017, 2, 10), dt.date(2017, 3, 25))
    for gate in ALL_GATES:
        column = series[f"open.{gate}"]
        assert column[dt.date(2017, 3, 1)] == 0, gate
        assert column[dt.date(2017, 2, 12)] == 1 and column[dt.date(2017, 3, 23)] == 1, gate


def test_fence_share_at_the_end_of_2020_is_the_reported_83_percent(history):
    series = daily(history, dt.date(2020, 12, 1), dt.date(2020, 12, 10))
    assert series["fence_share"][dt.date(2020, 12, 5)] == pytest.approx(0.83, abs=0.03)


def test_torkham_alone_is_shut_in_february_2025(history):
    series = daily(history, dt.date(2025, 2, 15), dt.date(2025, 3, 25))
    on = dt.date(2025, 3, 1)
    assert series["open.Torkham"][on] == 0
    assert all(series[f"open.{gate}"][on] == 1 for gate in ALL_GATES[1:])
    assert series["open.Torkham"][dt.date(2025, 3, 22)] == 1


def test_deportations_start_with_enforcement_on_1_nov_2023(history):
    series = daily(history, dt.date(2023, 10, 20), dt.date(2023, 11, 15))
    deported = series["deported_people"]
    assert deported[deported.index < dt.date(2023, 11, 1)].sum() == 0
    assert deported[deported.index >= dt.date(2023, 11, 1)].sum() > 0


@pytest.mark.parametrize("name", sorted(EPISODES))
def test_each_episode_is_the_cut_of_the_history(history, name):
    start, end = EPISODES[name]
    episode = load_scenario(SCENARIOS / f"{name}.toml")
    expected = cut(history, start, end)
    assert (episode.start_date, episode.end_date) == (start, end)
    ignore = {"name", "description"}
    assert episode.model_dump(exclude=ignore) == expected.model_dump(exclude=ignore)
