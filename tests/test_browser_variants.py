"""The Compare tab's lever variants in a real browser: the CLI's numbers, the CLI's error line.

Debian's Chromium driven by Playwright against a `borderabm ui` server the test starts (see
tests/test_browser.py). The page runs the baseline as written against one variant of its levers
(2 replicates of 30 days, the smallest the page allows); its scorecard must be, cell for cell, the
scorecard of the same runs made by the Python API (which the CLI's numbers equal, see
tests/test_variants.py). A line the schema refuses shows the CLI's error line and disables the
run. The page fails the test on an HTTP 4xx/5xx response or a page error.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from typer.testing import CliRunner

from borderabm.analysis.compare import load_comparison
from borderabm.apps.cli.main import app
from borderabm.apps.ui.compare_page import scorecard
from borderabm.experiments.engines import InProcess
from borderabm.experiments.store import ResultsStore
from borderabm.experiments.sweep import run_sweep, variant_sweep
from borderabm.scenario import resolve_scenario_path
from tests.conftest import (
    Tab,
    play_to_end,
    running_ui_server,
    shown_totals,
    table_cells,
)

BASELINE = resolve_scenario_path("baseline")
VARIANT = "fence.coverage=0.5 patrols.units=400"
BAD = "fence.coverage=2"


def type_line(page, number: int, text: str) -> None:
    """Type a variant line and press Enter (the field reports its value on Enter)."""
    field = page.locator(f".variants-line-{number} input")
    field.fill(text)
    field.press("Enter")


def api_scorecard(folder) -> list[list[str]]:
    """The scorecard of the same runs made by the Python API: seeds 1 and 2, 30 days."""
    sweep = variant_sweep(BASELINE, [{}, {"fence.coverage": 0.5, "patrols.units": 400}], 2, 1, 30)
    store = ResultsStore(folder / "api")
    run_sweep(sweep, store, engine=InProcess())
    frame = scorecard(load_comparison(store).table())
    return [list(frame.columns), *frame.values.tolist()]


def test_lever_variants_in_the_page_show_the_numbers_and_errors_of_the_cli(browser, tmp_path):
    cli = CliRunner().invoke(app, ["compare", "baseline", "--variant", "", "--variant", BAD])
    cli_line = cli.stderr.strip().replace(str(BASELINE.parent) + "/", "scenarios folder: ")
    assert cli.exit_code == 2 and "variant 2: fence.coverage: 2 is out of range" in cli_line
    expected = api_scorecard(tmp_path)

    results = tmp_path / "results"
    with running_ui_server({"BORDERABM_RESULTS_DIR": str(results)}) as (url, _port, _pid):
        tab = Tab(browser, url, "compare_lever_variants")
        page = tab.page
        page.get_by_role("button", name="Lever variants").click()
        run = page.get_by_role("button", name="Run lever variants")

        # A line the schema refuses: the CLI's error line, and no run.
        type_line(page, 2, BAD)
        expect(page.locator(".variants-error")).to_have_text(cli_line)
        expect(run).to_be_disabled()

        type_line(page, 2, VARIANT)
        expect(page.locator(".variants-error")).to_have_count(0)
        for slider in ("compare-replicates", "compare-days"):  # their smallest: 2 and 30
            page.locator(f".{slider} [role=slider]").press("Home")
        expect(page.get_by_role("slider", name="Days")).to_have_attribute("aria-valuenow", "30")
        expect(page.locator(".variants-cli")).to_contain_text(
            f"borderabm compare baseline --variant '' --variant '{VARIANT}' --replicates 2 "
            "--days 30 --seed 1"
        )
        run.click()
        page.locator("[data-testid=compare-table] table").wait_for(timeout=120_000)
        shown = table_cells(page, "compare-table")
        assert shown[0] == ["metric", "baseline", f"baseline: {VARIANT}"]
        assert shown == expected
        expect(
            page.get_by_text(re.compile(r"^Comparison: baseline vs baseline: fence"))
        ).to_be_visible()
        tab.close()
    # The runs went to the results folder, as every comparison of the page.
    assert [p.name.startswith("ui-variants-baseline-r2-d30-s1-") for p in results.iterdir()] == [
        True
    ]


def test_lever_variants_across_plausible_worlds_show_the_apis_robust_scorecard(browser, tmp_path):
    from borderabm.analysis.robust import load_robust
    from borderabm.apps.ui.robust_view import SHIPPED_POSTERIOR
    from borderabm.experiments.uncertainty import load_draws
    from borderabm.report.robust import HEADER, scorecard_rows

    # The Python API: the baseline and one variant in 2 draws of the shipped posterior x 2 seeds.
    draws = load_draws(SHIPPED_POSTERIOR, 2, seed=1)
    sweep = variant_sweep(BASELINE, [{}, {"fence.coverage": 0.5, "patrols.units": 400}], 2, 1, 30,
                          draws=draws)  # fmt: skip
    api = ResultsStore(tmp_path / "api")
    run_sweep(sweep, api, engine=InProcess())
    expected = [HEADER, *scorecard_rows(load_robust(api))]

    with running_ui_server({"BORDERABM_RESULTS_DIR": str(tmp_path / "results")}) as (url, _, _):
        tab = Tab(browser, url, "compare_variants_worlds")
        page = tab.page
        page.get_by_role("button", name="Lever variants").click()
        type_line(page, 2, VARIANT)
        for slider in ("compare-replicates", "compare-days", "variants-worlds"):
            page.locator(f".{slider} [role=slider]").press("Home")
        for _ in range(2):
            page.locator(".variants-worlds [role=slider]").press("ArrowRight")
        expect(page.locator(".variants-worlds-value")).to_have_text("2")  # the server holds 2
        expect(page.locator(".variants-cli")).to_contain_text(
            "--uncertainty docs/calibration/posterior.csv --draws 2"
        )
        page.get_by_role("button", name="Run lever variants").click()
        page.locator("[data-testid=robust-table] table").wait_for(timeout=180_000)
        assert table_cells(page, "robust-table") == expected
        expect(page.locator(".robust-results h3")).to_have_text(
            f"Across plausible worlds: baseline vs baseline: {VARIANT}"
        )
        # Every run is listed with its replay link; the variant's last run (world 2, seed 2),
        # opened in a new browser, replays on the Run tab to the stored totals.
        page.get_by_text("Show the 8 runs").click()
        anchors = page.locator("[data-testid=robust-runs] a.robust-run-link")
        expect(anchors).to_have_count(8)
        link = anchors.last.get_attribute("href")
        assert not tab.problems, tab.problems
        tab.close()
        replay = Tab(browser, url + link, "compare_variants_worlds_replay", click_compare=False)
        expect(replay.page.get_by_text(re.compile(r"Day: 0 of 30\b"))).to_be_visible(timeout=60_000)
        play_to_end(replay.page, 30)
        shown = shown_totals(replay.page, 30)
        replay.close()
    stored = api.runs().set_index("run_id").loc[link.rsplit("run=", 1)[1]]
    assert (stored["point"], stored["seed"], stored["fence.coverage"]) == (3, 2, 0.5)
    assert {m: shown[m] for m in ("attacks", "formal_trade_usd")} == {
        m: float(stored[m]) for m in ("attacks", "formal_trade_usd")
    }
