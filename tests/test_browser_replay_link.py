"""A stored run's permanent link in a real browser: it replays that run, after a restart too.

Debian's Chromium driven by Playwright against `borderabm ui` servers the tests start (see
tests/test_browser.py). A real sweep (copies of baseline and fence_full at two design points that
change patrol units, one replicate, 8 days) is stored in a results folder the servers share. The
Compare tab lists each run's link; opened in a new browser context, and again on a restarted
server, the link shows the Run tab on exactly that run, whose last day's totals are the stored
ones. Bad links (no such comparison, no such run, a scenario file changed since) say why in one
line. Every page fails its test on an HTTP 4xx/5xx response or a page error. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import (
    Tab,
    play_to_end,
    running_ui_server,
    shown_totals,
    stored_points_sweep,
)

DAYS = 8
METRICS = ("attacks", "militant_crossings", "formal_trade_usd")
DAY = re.compile(r"Day: (\d+) of (\d+)")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """(server environment, the sweep, its stored runs): a sweep of two scenarios x two points."""
    folder, results, sweep, runs = stored_points_sweep(tmp_path_factory, "replay-link", DAYS)
    env = {"BORDERABM_SCENARIOS": str(folder), "BORDERABM_RESULTS_DIR": str(results)}
    return env, sweep, runs


@pytest.fixture(scope="module")
def seen():
    """What the first server showed, for the restarted one."""
    return {}


def units_note(units: int) -> str:
    return f"Running mine_a, seed 3, {DAYS} days, with the sweep run's patrols.units = {units}"


def check_replayed_run(tab: Tab, link: str, row, sweep) -> dict[str, float]:
    """The Run tab shows the stored run of ``row`` at day 0, and its totals at the last day."""
    page = tab.page
    expect(page.get_by_role("tab", name="Run")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text(re.compile(rf"Day: 0 of {DAYS}\b"))).to_be_visible(timeout=60_000)
    units = sweep.points[row["point"]]["patrols.units"]
    expect(page.locator(".run-settings")).to_contain_text(units_note(units))
    assert page.locator(".lever-input-units input").input_value() == str(units)
    assert page.locator(".run-permalink").get_attribute("href") == link
    play_to_end(page, DAYS)
    totals = shown_totals(page, DAYS)
    assert {m: totals[m] for m in METRICS} == {m: float(row[m]) for m in METRICS}
    return totals


def test_a_stored_runs_link_replays_it_in_a_new_browser(browser, stored, seen):
    env, sweep, runs = stored
    row = runs[(runs["scenario"] == "baseline") & (runs["point"] == 1)].iloc[0]
    with running_ui_server(env) as (url, _port, _pid):
        # The Compare tab lists every run with its link.
        tab = Tab(browser, url + "?comparison=points", "replay_link_compare", click_compare=False)
        anchors = tab.page.locator("table.compare-runs a.compare-run-link")
        expect(anchors).to_have_count(4, timeout=120_000)
        links = [anchor.get_attribute("href") for anchor in anchors.all()]
        assert all(re.fullmatch(r"\?comparison=points&run=[0-9a-f]{20}", link) for link in links)
        assert sorted(links) == sorted(f"?comparison=points&run={i}" for i in runs["run_id"])
        link = tab.page.get_by_role("link", name="Permanent link to baseline@1 seed 3")
        link = link.get_attribute("href")
        assert link == f"?comparison=points&run={row['run_id']}"
        tab.close()

        # The link alone, in another browser: the Run tab on exactly that run.
        tab = Tab(browser, url + link, "replay_link_run", click_compare=False)
        seen |= {"link": link, "totals": check_replayed_run(tab, link, row, sweep)}
        tab.close()


def test_a_stored_runs_link_replays_it_after_a_restart_and_bad_links_say_why(browser, stored, seen):
    if "link" not in seen:
        pytest.fail("the link of the previous test was not opened")
    env, sweep, runs = stored
    row = runs[runs["run_id"] == seen["link"].rsplit("=", 1)[1]].iloc[0]
    # The fence_full copy is edited: its runs can no longer be replayed exactly.
    edited = runs[runs["scenario"] == "fence_full"].iloc[0]
    path = Path(env["BORDERABM_SCENARIOS"]) / "mine_b.toml"
    path.write_text(path.read_text().replace("[fence]", "[fence]\nbreach_hours = 99", 1))
    with running_ui_server(env) as (url, _port, _pid):
        tab = Tab(browser, url + seen["link"], "replay_link_after_restart", click_compare=False)
        assert check_replayed_run(tab, seen["link"], row, sweep) == seen["totals"]
        tab.close()

        bad = {
            "?comparison=0123456789ab&run=" + row["run_id"]: "no stored comparison has this id",
            "?comparison=points&run=" + "f" * 20: "comparison points holds no such run",
            "?comparison=points&run=" + edited["run_id"]: (
                "cannot be replayed exactly: its scenario file changed since the sweep"
            ),
        }
        for index, (search, message) in enumerate(bad.items()):
            tab = Tab(browser, url + search, f"replay_link_bad_{index}", click_compare=False)
            page = tab.page
            expect(page.locator(".run-error")).to_contain_text(
                "This link cannot be opened: ", timeout=60_000
            )
            expect(page.locator(".run-error")).to_contain_text(message)
            assert len(page.locator(".run-error").inner_text().splitlines()) == 1
            body = page.inner_text("body")
            assert "Traceback" not in body and "/tmp" not in body
            # Nothing of the link was run in its place: the page shows its default run.
            expect(page.get_by_text(DAY)).to_be_visible()
            expect(page.locator(".run-settings")).not_to_contain_text("sweep run's")
            expect(page.get_by_role("tab", name="Run")).to_have_attribute("aria-selected", "true")
            tab.close()
