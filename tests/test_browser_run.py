"""The Run tab in a real browser shows the model exactly, replays exactly, keeps its state and its memory.

Debian's Chromium driven by Playwright against a `borderabm ui` server this module starts, with a
scenario folder that adds a broken file to the shipped scenarios and a private results folder.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.conftest import (
    ARTIFACTS,
    SCENARIOS,
    open_tab,
    play_to_end,
    running_ui_server,
    shown_totals,
    type_into,
)

DAY = re.compile(r"Day: (\d+) of (\d+)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `borderabm ui` server whose extra scenario folder holds one broken file: yields its
    URL and the PID of the wrapper process."""
    folder = tmp_path_factory.mktemp("extra-scenarios")
    (folder / "aaa_broken.toml").write_text("name = \n")
    shutil.copy(SCENARIOS / "baseline.toml", folder / "my_baseline.toml")
    results = tmp_path_factory.mktemp("ui-results")
    env = {"BORDERABM_SCENARIOS": str(folder), "BORDERABM_RESULTS_DIR": str(results)}
    with running_ui_server(env) as (url, _port, pid):
        yield url, pid


def open_page(browser, url, problems):
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)  # fmt: skip
    page.goto(url)
    expect(page.get_by_text(DAY)).to_be_visible(timeout=60_000)
    return context, page


@pytest.fixture()
def page(browser, server, request):
    problems = []
    context, page = open_page(browser, server[0], problems)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not problems, problems


def day_and_horizon(page) -> tuple[int, int]:
    match = DAY.search(page.get_by_text(DAY).inner_text())
    return int(match.group(1)), int(match.group(2))


def child_rss_mib(wrapper_pid: int) -> float:
    """RSS of the `python -m solara run` child of the `borderabm ui` wrapper, from /proc."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            if parent != wrapper_pid:
                continue
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    raise AssertionError("no solara child process found")


def test_memory_is_given_back_after_resets_and_a_closed_tab(browser, server):
    url, wrapper = server
    problems = []

    def session(resets: int) -> tuple[float, float]:
        context, page = open_page(browser, url, problems)
        opened = peak = child_rss_mib(wrapper)
        page.get_by_role("button", name="Play").click()  # a played run, then the Resets
        expect(page.get_by_text(re.compile(r"Day: ([3-9]|\d\d+) of"))).to_be_visible(timeout=60_000)
        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=30_000)
        for _ in range(resets):
            page.get_by_role("button", name="Reset").click()
            page.get_by_role("button", name="Step").click()
            expect(page.get_by_text(re.compile(r"Day: 1 of"))).to_be_visible(timeout=30_000)
            peak = max(peak, child_rss_mib(wrapper))
        context.close()
        return opened, peak

    session(1)  # warm-up: the world, routes and Solara's own caches are loaded once
    time.sleep(3)
    before = child_rss_mib(wrapper)
    opened, peak = session(30)
    after = float("inf")
    deadline = time.monotonic() + 30  # a bounded wait for the closed kernel to be released
    while time.monotonic() < deadline and after > before * 1.10:
        time.sleep(1)
        after = child_rss_mib(wrapper)
    print(f"server RSS: {before:.0f} MiB before the session, {opened:.0f} MiB with it open, "
          f"{peak:.0f} MiB at most in 30 Resets, {after:.0f} MiB after closing")  # fmt: skip
    assert peak - opened < 50, (opened, peak)
    assert after <= before * 1.10, (before, after)
    assert not problems, problems


def test_the_run_tab_shows_exactly_what_the_cli_computes(page):
    # The page opens on the file's own levers, seed and horizon, unchanged.
    expect(page.locator(".run-settings")).to_contain_text("exactly as the file sets it")
    assert page.locator(".lever-input-fence input").input_value() == "0.94"
    assert page.locator(".lever-input-seed input").input_value() == "1"
    assert day_and_horizon(page) == (0, 150)
    type_into(page, "seed", 3)
    type_into(page, "days", 15)
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text(re.compile(r"Day: 0 of 15"))).to_be_visible(timeout=30_000)
    expect(page.locator(".run-settings")).to_contain_text("seed 3, 15 days, exactly as the file")
    play_to_end(page, 15)
    expect(page.locator(".run-finished")).to_be_visible()
    expect(page.get_by_role("button", name="Step")).to_be_disabled()
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    cli = subprocess.run(
        [exe, "run", "closures_oct2025", "--days", "15", "--seed", "3",
         "--json"], capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    summary = json.loads(cli.stdout)["summary"]
    totals = shown_totals(page, 15)
    assert len(totals) >= 8
    assert totals == {name: summary[name] for name in totals}
    # The people and trucks through the gates are shown, in the thousands over 15 days.
    assert totals["gate_people"] > 15 * 5_000 and totals["gate_trucks"] > 15 * 1_000
    # The daily series offered for download add up to the totals shown.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the daily series (CSV)").click()
    daily = pd.read_csv(download.value.path())
    assert len(daily) == 15
    assert daily["attacks"].sum() == totals["attacks"]
    assert daily["formal_trade_usd"].sum() == pytest.approx(totals["formal_trade_usd"], rel=1e-12)
    # The labels carry units, and no server path appears anywhere on the page.
    text = page.locator("body").inner_text()
    assert "Formal trade (US$)" in text and "formal_trade_usd" not in text
    assert str(SCENARIOS.parent) not in text


def test_a_typed_value_out_of_bounds_is_refused_and_a_changed_lever_is_marked(page):
    type_into(page, "units", 20_000)
    expect(page.locator(".lever-refused")).to_contain_text("allowed: 0 to 10,000")
    assert page.locator(".lever-input-units input").input_value() == "600"
    type_into(page, "seed", "1" + "0" * 400)  # far beyond a float: refused, never a crash
    expect(page.locator(".lever-seed .lever-refused")).to_contain_text("401 digits")
    # Text that is no number (Solara's number field kept it, the run went on with another
    # value, and the last refusal stayed): refused by name, and the field shows the value in force.
    for typed in ("0x10", "abc"):
        type_into(page, "units", typed)
        expect(page.locator(".lever-units .lever-refused")).to_have_text(
            f"Refused: Patrol units: '{typed}' is not a number (allowed: 0 to 10,000, whole "
            "numbers). It stays 600."
        )
        expect(page.locator(".lever-input-units input")).to_have_value("600")
    type_into(page, "units", 900)
    expect(page.locator(".lever-units .lever-refused")).to_have_count(0)
    expect(page.locator(".lever-units .lever-changed")).to_contain_text("file: 600")
    expect(page.locator(".run-settings")).to_contain_text("apply on Reset")
    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".run-settings")).to_contain_text("levers changed from the file: units")


def test_a_broken_file_is_an_error_entry_and_breaks_nothing(page):
    page.locator(".scenario-picker").click()
    broken = page.get_by_role("option", name=re.compile("aaa_broken"))
    expect(broken).to_contain_text("TOML syntax error")
    assert "/" not in broken.inner_text()
    expect(page.get_by_role("option", name="my_baseline")).to_be_visible()  # added, not replacing
    page.get_by_role("option", name="baseline", exact=True).click()
    expect(page.get_by_text(re.compile(r"Day: 0 of 365"))).to_be_visible(timeout=30_000)


def test_replay_reproduces_the_row_and_state_survives_tab_switches_and_reloads(page):
    open_tab(page, "Compare")
    for slider in ("compare-replicates", "compare-days"):  # the smallest comparison: 2 x 30 days
        page.locator(f".{slider} .v-slider__thumb-container").first.focus()
        page.keyboard.press("Home")
    for name, value in (("replicates", "2"), ("days", "30")):  # the server has them: run those
        expect(page.locator(f".compare-{name}-value")).to_have_text(value, timeout=15_000)
    page.get_by_role("button", name="Run comparison").click()
    expect(page.locator("[data-testid=compare-table]")).to_be_visible(timeout=180_000)
    row = page.locator("table.compare-runs tbody tr").filter(
        has=page.get_by_role("button", name="Replay fence_full seed 2")
    )
    expected = {
        cell.get_attribute("data-metric"): float(cell.get_attribute("data-value"))
        for cell in row.locator("td[data-metric]").all()
    }
    assert set(expected) == {"attacks", "militant_crossings", "formal_trade_usd"}
    row.get_by_role("button", name="Replay fence_full seed 2").click()
    expect(page.get_by_text(re.compile(r"Day: 0 of 30"))).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)  # the replay is not reset afterwards to a default run
    assert day_and_horizon(page) == (0, 30)
    expect(page.locator(".run-settings")).to_contain_text("Running fence_full, seed 2, 30 days")
    play_to_end(page, 30)
    totals = shown_totals(page, 30)
    assert {name: totals[name] for name in expected} == expected
    # A tab switch and a reload bring back the same run at the same day, and the comparison.
    open_tab(page, "Compare")
    expect(page.locator("[data-testid=compare-table]")).to_be_visible(timeout=10_000)
    open_tab(page, "Run")
    expect(page.get_by_text(re.compile(r"Day: 30 of 30"))).to_be_visible(timeout=30_000)
    page.reload()
    expect(page.get_by_text(re.compile(r"Day: 30 of 30"))).to_be_visible(timeout=60_000)
    expect(page.locator(".run-settings")).to_contain_text("Running fence_full, seed 2, 30 days")
    assert shown_totals(page, 30) == totals
    open_tab(page, "Compare")
    expect(page.locator("[data-testid=compare-table]")).to_be_visible(timeout=60_000)
    text = page.locator("body").inner_text()
    assert "saved as ui-compare-" in text and "/tmp" not in text and str(SCENARIOS) not in text


def test_a_link_opens_its_run_and_a_bad_link_says_why(page, server):
    page.goto(server[0] + "?scenario=baseline&seed=5&days=12&units=900")
    expect(page.get_by_text(re.compile(r"Day: 0 of 12"))).to_be_visible(timeout=60_000)
    expect(page.locator(".run-settings")).to_contain_text(
        "Running baseline, seed 5, 12 days, levers changed from the file: units"
    )
    assert page.locator(".lever-input-units input").input_value() == "900"
    link = page.locator(".run-permalink").get_attribute("href")
    assert link == "?scenario=baseline&seed=5&days=12&units=900"
    # A reload (the address still shows the link) brings back this run at its day, not day 0.
    for _ in range(3):
        page.get_by_role("button", name="Step").click()
    expect(page.get_by_text(re.compile(r"Day: 3 of 12"))).to_be_visible(timeout=30_000)
    totals = shown_totals(page, 3)
    page.reload()
    expect(page.get_by_text(re.compile(r"Day: 3 of 12"))).to_be_visible(timeout=60_000)
    assert shown_totals(page, 3) == totals
    page.goto(server[0] + "?scenario=baseline&units=20000")
    expect(page.locator(".run-error")).to_contain_text("allowed: 0 to 10,000", timeout=60_000)
    expect(page.get_by_text(DAY)).to_be_visible()


def test_the_fence_lever_on_a_dated_fence_runs_what_the_command_line_runs(page, server):
    """On an episode (a dated fence of 98%), the page's fence lever and ``--set`` give one run."""
    from typer.testing import CliRunner

    from borderabm.apps.cli import app

    options = ["--seed", "3", "--days", "6", "--set", "fence.coverage=0.5", "--json"]
    result = CliRunner().invoke(app, ["run", "episode_closures_oct2025", *options])
    assert result.exit_code == 0 and "fence.coverage: holds for the whole run" in result.stderr
    summary = json.loads(result.stdout)["summary"]
    page.goto(server[0] + "?scenario=episode_closures_oct2025&seed=3&days=6&fence=0.5")
    expect(page.get_by_text(re.compile(r"Day: 0 of 6"))).to_be_visible(timeout=60_000)
    expect(page.locator(".run-settings")).to_contain_text(
        "levers changed from the file: fence (fence.coverage: holds for the whole run, in place "
        "of the fence's construction schedule (1 dated point))"
    )
    play_to_end(page, 6)
    shown = shown_totals(page, 6)
    assert shown == {metric: summary[metric] for metric in shown}
    assert summary["fence_share_mean"] == pytest.approx(0.5)


def test_the_totals_are_read_for_the_day_asked_never_mixed_with_the_day_before(browser):
    # The server sends the day counter before the totals, as two updates: a read between them
    # (CI once read "Day: 3" with the attacks of day 2) must wait for the totals of day 3.
    context = browser.new_context()
    page = context.new_page()
    table = "<table><tr><th>totals to day {day}</th><th></th></tr>{cells}</table>"
    cell = "<tr><td>{m}</td><td data-metric='{m}' data-value='{v}'>{v}</td></tr>"
    day_2 = table.format(
        day=2, cells=cell.format(m="attacks", v=0.0) + cell.format(m="deaths", v=4)
    )
    day_3 = table.format(
        day=3, cells=cell.format(m="attacks", v=1.0) + cell.format(m="deaths", v=5)
    )
    page.set_content(
        f"<div>Day: 3 of 12</div><div class='run-totals'>{day_2}</div>"
        f"<script>setTimeout(() => document.querySelector('.run-totals').innerHTML = "
        f"{json.dumps(day_3)}, 400)</script>"
    )
    try:
        assert shown_totals(page, 3) == {"attacks": 1.0, "deaths": 5.0}
    finally:
        context.close()
