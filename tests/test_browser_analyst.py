"""The Run tab as an analyst's tool, in a real browser: scenario files in and out, the timeline,
the provenance panel, replicates with bands, and the downloads.

Debian's Chromium driven by Playwright against a `borderabm ui` server this module starts (as in
tests/test_browser_run.py). Runs are kept short (10-60 days, three seeds) so the module stays
under two minutes.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from borderabm.apps.ui.run_setup import levers_of, scenario_entries, settings_for
from borderabm.apps.ui.scenario_file import scenario_hash
from tests.conftest import ARTIFACTS, play_to_end, running_ui_server, shown_totals, type_into

DAY = re.compile(r"Day: (\d+) of (\d+)")
EXE = os.path.join(os.path.dirname(sys.executable), "borderabm")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `borderabm ui` server with a private results folder: yields its URL."""
    results = tmp_path_factory.mktemp("ui-results")
    with running_ui_server({"BORDERABM_RESULTS_DIR": str(results)}) as (url, _port, _pid):
        yield url


@pytest.fixture()
def page(browser, server, request):
    problems = []
    context = browser.new_context(viewport={"width": 1600, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)  # fmt: skip
    page.goto(server)
    expect(page.get_by_text(DAY)).to_be_visible(timeout=60_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not problems, problems


def reset_and_play(page, days: int) -> None:
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text(re.compile(rf"Day: 0 of {days}\b"))).to_be_visible(timeout=30_000)
    play_to_end(page, days)


def cli_summary(*args: str, cwd=None) -> dict:
    done = subprocess.run([EXE, "run", *args, "--json"], capture_output=True, text=True,
                          check=True, timeout=300, cwd=cwd)  # fmt: skip
    return json.loads(done.stdout)["summary"]


def test_a_saved_scenario_downloads_reads_back_and_runs_as_the_page_did(page, tmp_path):
    type_into(page, "days", 12)
    type_into(page, "units", 900)
    type_into(page, "seed", 4)
    diff = page.locator(".scenario-diff")
    expect(diff).to_contain_text("patrols.units")
    expect(diff).to_contain_text("600 → 900")
    expect(diff).to_contain_text("150 → 12")
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Save scenario")).click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    text = saved.read_text()
    assert "units = 900" in text and "seed = 4" in text and "horizon_days = 12" in text
    assert "# Seed 002" in text  # the file's own comments are kept
    reset_and_play(page, 12)
    summary, totals = cli_summary(str(saved)), shown_totals(page, 12)
    assert len(totals) >= 8 and totals == {name: summary[name] for name in totals}
    # The run's own downloads: the daily series as Parquet, and the run's scenario file.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the daily series (Parquet)").click()
    daily = pd.read_parquet(download.value.path())
    assert len(daily) == 12 and daily["attacks"].sum() == shown_totals(page, 12)["attacks"]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the scenario of this run (TOML)").click()
    assert "units = 900" in Path(download.value.path()).read_text()


def test_an_uploaded_bad_file_shows_the_clis_error_line_and_a_good_one_runs(page, tmp_path):
    bad = tmp_path / "bad_fence.toml"
    bad.write_text('name = "bad"\n[fence]\ncoverage = 2.0\n')
    cli = subprocess.run([EXE, "run", bad.name], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)  # fmt: skip
    assert cli.returncode == 2
    page.locator(".scenario-upload-input").set_input_files(str(bad))
    expect(page.locator(".upload-error")).to_have_text(cli.stderr.strip(), timeout=30_000)
    assert cli.stderr.startswith("error: bad_fence.toml: fence.coverage")
    # A valid file runs in this tab, and its levers can be changed.
    good = tmp_path / "my variant.toml"
    good.write_text('name = "my variant"\nhorizon_days = 8\nseed = 2\n[patrols]\nunits = 700\n')
    page.locator(".scenario-upload-input").set_input_files(str(good))
    expect(page.locator(".upload-ok")).to_contain_text("uploaded:my_variant")
    expect(page.get_by_text(re.compile(r"Day: 0 of 8\b"))).to_be_visible(timeout=30_000)
    type_into(page, "units", 650)
    reset_and_play(page, 8)
    expect(page.locator(".run-settings")).to_contain_text("levers changed from the file: units")
    good.write_text(good.read_text().replace("700", "650"))
    summary, totals = cli_summary(str(good)), shown_totals(page, 8)
    assert totals == {name: summary[name] for name in totals}


def test_the_timeline_shows_the_closures_and_a_fired_rule_at_their_days(page):
    type_into(page, "days", 60)
    type_into(page, "trigger", 5)
    reset_and_play(page, 60)
    timeline = page.locator(".run-timeline")
    closures = timeline.locator(".timeline-event[data-kind='closure']")
    expect(closures).to_have_count(1)  # the five gates closed together: one event
    assert closures.first.get_attribute("data-day") == "41"
    assert closures.first.get_attribute("data-end") == "90"
    expect(closures.first).to_contain_text("2025-10-12 to 2025-11-29")
    for gate in ("Torkham", "Chaman", "Angoor Adda", "Ghulam Khan", "Kharlachi"):
        expect(closures.first.locator("title")).to_contain_text(gate)
    rules = timeline.locator(".timeline-event[data-kind='rule']")
    expect(rules.first).to_contain_text("attack surge closes gates")
    assert int(rules.first.get_attribute("data-day")) >= 1
    assert page.locator(".timeline-today").get_attribute("data-day") == "60"


def test_the_provenance_panel_shows_the_seed_and_the_scenario_hash(page):
    panel = page.locator(".run-provenance")
    base = scenario_entries()["closures_oct2025"].settings
    expect(panel.locator("[data-provenance='seed']")).to_have_text("1")
    expect(panel.locator("[data-provenance='scenario hash']")).to_contain_text(scenario_hash(base))
    expect(panel.locator("[data-provenance='calibration']")).to_contain_text("fitted to 2024")
    expect(panel.locator("[data-provenance='model version']")).to_contain_text("borderabm")
    type_into(page, "seed", 7)
    page.get_by_role("button", name="Reset").click()
    changed = settings_for("closures_oct2025", levers_of(base), 7, base.horizon_days)
    expect(panel.locator("[data-provenance='seed']")).to_have_text("7")
    expect(panel.locator("[data-provenance='scenario hash']")).to_contain_text(
        scenario_hash(changed)
    )


def test_replicates_show_a_band_whose_mean_is_the_mean_of_the_cli_totals(page):
    type_into(page, "days", 10)
    type_into(page, "seed", 5)
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text(re.compile(r"Day: 0 of 10\b"))).to_be_visible(timeout=30_000)
    type_into(page, "replicates", 3)
    page.get_by_role("button", name="Run replicates").click()
    page.get_by_role("button", name="Play").click()  # the map runs while the replicates do
    bands = page.locator(".replicate-bands")
    expect(bands).to_be_visible(timeout=120_000)
    expect(page.get_by_text(re.compile(r"Day: 10 of 10\b"))).to_be_visible(timeout=60_000)
    summaries = [
        cli_summary("closures_oct2025", "--seed", str(s), "--days", "10") for s in (5, 6, 7)
    ]
    row = bands.locator("tr[data-metric='attacks']")
    mean = float(row.get_attribute("data-mean"))
    low, high = float(row.get_attribute("data-low")), float(row.get_attribute("data-high"))
    attacks = [summary["attacks"] for summary in summaries]
    assert mean == pytest.approx(sum(attacks) / 3, rel=1e-12)
    assert min(attacks) <= low <= mean <= high <= max(attacks)
    trade = bands.locator("tr[data-metric='formal_trade_usd']")
    expected = sum(summary["formal_trade_usd"] for summary in summaries) / 3
    assert float(trade.get_attribute("data-mean")) == pytest.approx(expected, rel=1e-12)
    expect(bands).to_contain_text("mean of 3 seeds (5, 6, 7)")
