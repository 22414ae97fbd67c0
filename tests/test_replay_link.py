"""Replay links: the query string of a stored run, what it resolves to, and the Run tab opening it.

A real sweep (two listed scenarios x two design points that change patrol units, one replicate, 6
days) is run into a results folder; its runs are then asked for by their links.
"""

from __future__ import annotations

import shutil

import pytest

from borderabm.apps.ui import compare_page as cp
from tests.conftest import stored_points_sweep

DAYS = 6


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A scenarios folder (copies of baseline and fence_full) and a sweep of them with 2 points."""
    return stored_points_sweep(tmp_path_factory, "replay", DAYS)


@pytest.fixture(autouse=True)
def configured(stored, monkeypatch):
    from borderabm.apps.ui import app

    folder, results, _sweep, _runs = stored
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(folder))
    monkeypatch.setenv(cp.RESULTS_ENV, str(results))
    yield
    app.replayed.set(None)  # outside a server the Run tab's state is global


# The query string --------------------------------------------------------------------------------
def test_a_replay_link_names_the_comparison_and_the_stored_run():
    link = cp.replay_link("points", "0123456789abcdef0123")
    assert link == "?comparison=points&run=0123456789abcdef0123"
    assert cp.linked_run(link) == ("points", "0123456789abcdef0123")
    assert cp.is_replay_link(link) and not cp.is_replay_link("?comparison=points")
    assert cp.linked_id(link) == "points"  # the Compare tab reads the same comparison id
    # Names from the results folder are quoted and read back as they were.
    odd = cp.replay_link("sweep+1@x", "r-1")
    assert odd == "?comparison=sweep%2B1%40x&run=r-1"
    assert cp.linked_run(odd) == ("sweep+1@x", "r-1")
    # Not a replay link: no run asked for.
    for search in (None, "", "?", "?comparison=points", "?scenario=baseline&seed=2"):
        assert cp.linked_run(search) is None
    # The last value of a repeated key counts, as for the other links.
    assert cp.linked_run("?comparison=a&run=x1&run=x2&comparison=b") == ("b", "x2")


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("?run=0123", "run: a run needs its comparison (allowed: ?comparison=<id>&run=<run id>)"),
        ("?comparison=&run=0123", "run: a run needs its comparison"),
        ("?comparison=points&run=", "run: '': not a run id"),
        ("?comparison=points&run=../runs/x", "run: '../runs/x': not a run id"),
        ("?comparison=points&run=" + "a" * 300, "run: '" + "a" * 40 + "…': not a run id"),
    ],
)
def test_a_malformed_replay_link_says_what_is_wrong(search, message):
    with pytest.raises(cp.ComparisonError) as raised:
        cp.linked_run(search)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


# What a link resolves to -------------------------------------------------------------------------
def test_each_stored_run_resolves_to_its_exact_replay(stored):
    from borderabm.apps.ui.run_setup import build_model

    _folder, _results, sweep, runs = stored
    assert len(runs) == 4
    for row in runs.itertuples(index=False):
        request = cp.stored_replay("points", row.run_id)
        assert request["scenario"] == {"baseline": "mine_a", "fence_full": "mine_b"}[row.scenario]
        assert (request["seed"], request["days"]) == (row.seed, DAYS)
        assert request["overrides"] == sweep.points[row.point]
        assert request["link"] == cp.replay_link("points", row.run_id)
        assert request["label"] == f"{row.scenario}@{row.point}"
    # Replayed, the run gives the stored summary.
    row = runs.iloc[-1]
    request = cp.stored_replay("points", row["run_id"])
    model = build_model(request["scenario"], None, request["seed"], request["days"],
                        request["overrides"])  # fmt: skip
    assert model.settings.patrols.units == sweep.points[row["point"]]["patrols.units"]
    model.run(request["days"])
    summary = model.summary()
    for metric in ("attacks", "militant_crossings", "formal_trade_usd"):
        assert summary[metric] == row[metric]


def test_a_run_of_a_comparison_made_in_the_page_has_a_link_too(stored):
    result = cp.run_comparison(["mine_a", "mine_b"], 2, cp.MIN_DAYS)
    row = result.runs.iloc[3]
    request = cp.stored_replay(result.comparison_id, row.run_id)
    link = cp.replay_link(result.comparison_id, row.run_id)
    assert result.results_dir.name.endswith("-" + result.comparison_id)
    assert {k: request[k] for k in ("scenario", "seed", "days", "link")} == {
        "scenario": "mine_b", "seed": 2, "days": cp.MIN_DAYS, "link": link}  # fmt: skip
    assert "overrides" not in request  # no design point: the run of the file itself
    assert request["stored"]["formal_trade_usd"] == row.formal_trade_usd


def test_a_link_to_no_stored_run_says_why(stored):
    _folder, _results, _sweep, runs = stored
    with pytest.raises(cp.ComparisonError, match="no stored comparison has this id"):
        cp.stored_replay("0123456789ab", runs["run_id"].iloc[0])
    with pytest.raises(cp.ComparisonError,
                       match=r"run: 'ffffffffffffffffffff': comparison points holds no such run "
                       r"\(it holds 4 runs\)"):  # fmt: skip
        cp.stored_replay("points", "f" * 20)


def test_a_link_to_a_run_whose_scenario_file_changed_is_refused(stored, tmp_path, monkeypatch):
    folder, _results, _sweep, runs = stored
    edited = tmp_path / "scenarios"
    shutil.copytree(folder, edited)
    path = edited / "mine_b.toml"
    path.write_text(path.read_text().replace("[fence]", "[fence]\nbreach_hours = 99", 1))
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(edited))
    row = runs[runs["scenario"] == "fence_full"].iloc[0]
    with pytest.raises(cp.ComparisonError) as raised:
        cp.stored_replay("points", row["run_id"])
    assert str(raised.value) == (
        f"run: {row['run_id']}: fence_full@{row['point']} seed 3 of comparison points cannot be "
        "replayed exactly: its scenario file changed since the sweep"
    )
    # The other scenario's file is the one the sweep ran: its runs still replay.
    other = runs[runs["scenario"] == "baseline"].iloc[0]
    assert cp.stored_replay("points", other["run_id"])["scenario"] == "mine_a"


# The Compare tab's runs table --------------------------------------------------------------------
def test_the_runs_table_links_each_run_and_its_replay_carries_the_link(stored):
    import ipyvuetify as v
    import solara

    _folder, _results, _sweep, runs = stored
    result = cp.load_saved_comparison("points")
    _, rc = solara.render(cp.RunsTable(result), handle_error=False)
    anchors = rc.find(v.Html, tag="a").widgets
    shown = [a.attributes["href"] for a in anchors]
    assert shown == [cp.replay_link("points", run_id) for run_id in result.runs["run_id"]]
    assert sorted(result.runs["run_id"]) == sorted(runs["run_id"])
    assert all(a.children == ["link"] for a in anchors)
    cp.replay_request.set(None)
    rc.find(v.Btn, children=["Replay"]).widgets[1].click()
    asked = cp.replay_request.value
    cp.replay_request.set(None)
    rc.close()
    row = result.runs.iloc[1]
    assert asked == {"scenario": row.replay, "seed": int(row.seed), "days": DAYS,
                     "overrides": row.overrides,
                     "link": cp.replay_link("points", row.run_id)}  # fmt: skip


# The Run tab -------------------------------------------------------------------------------------
def test_the_run_tab_opens_a_replay_link_exactly_and_offers_it_as_the_runs_link(stored, page_state):
    from borderabm.apps.ui import app
    from borderabm.apps.ui.run_setup import base_settings, levers_of, run_entries

    _folder, _results, sweep, runs = stored
    row = runs[runs["scenario"] == "baseline"].iloc[1]
    link = cp.replay_link("points", row["run_id"])
    app.replayed.set(None)
    assert app._restore_or_open(link) == ""
    point = sweep.points[row["point"]]
    base = base_settings(run_entries()["mine_a"], point)
    current = app.applied.value
    assert current == ("mine_a", levers_of(base), 3, DAYS, point)
    assert app.live_model.value.settings.patrols.units == point["patrols.units"]
    assert app.run_link.value == link
    assert app.run_permalink(current, base, app.replayed.value) == link
    # Another run (a lever changed since) is not the stored run: it has no link.
    changed = (current[0], {**current[1], "units": current[1]["units"] + 1}, *current[2:])
    assert app.run_permalink(changed, base, app.replayed.value) is None
    # A run without a design point keeps the link of its file and levers.
    plain = ("mine_a", None, 3, DAYS, None)
    file_base = run_entries()["mine_a"].settings
    assert app.run_permalink(plain, file_base, app.replayed.value) == (
        f"?scenario=mine_a&seed=3&days={DAYS}"
    )
    # A reload (same browser, the address still the link) brings back this run, not day 0 again.
    app.live_model.value.step()
    app._remember_run()
    app.live_model.set(None)
    app.replayed.set(None)
    assert app._restore_or_open(link) == ""
    assert app.applied.value == current and app.catch_up_to.value == 1
    assert app.run_permalink(app.applied.value, base, app.replayed.value) == link


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("?comparison=0123456789ab&run=abc", "comparison: '0123456789ab': no stored comparison"),
        ("?comparison=points&run=" + "f" * 20, "comparison points holds no such run"),
        ("?run=abc", "run: a run needs its comparison"),
    ],
)
def test_a_bad_replay_link_is_one_line_and_runs_nothing_of_it(search, message, page_state):
    from borderabm.apps.ui import app

    problem = app._restore_or_open(search)
    assert problem.startswith("This link cannot be opened: ") and message in problem
    assert "\n" not in problem and "Traceback" not in problem
    assert app.applied.value is not None and app.applied.value[4] is None  # the default run
    assert app.run_link.value is None
