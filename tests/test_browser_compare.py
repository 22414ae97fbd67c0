"""The Compare tab in a real browser: downloads read back, permanent links, difference maps.

Debian's Chromium driven by Playwright against `borderabm ui` servers the tests start (see
tests/test_browser.py). One small comparison (baseline vs fence_full, 2 replicates of 30 days) is run
in the page; its permanent link is then opened in a new browser context on a restarted server, which
must show the same scorecard and maps from the results store without running anything again. Every
page fails its test on an HTTP 4xx/5xx response or a page error. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import tomllib

import pandas as pd
import pytest
from playwright.sync_api import expect

from borderabm.analysis.places import PLACE_METRICS
from tests.conftest import Tab, running_ui_server, table_cells

MAP_WIDTHS_JS = """() => [...document.querySelectorAll('[data-testid=compare-diffmap] img')]
    .map(image => image.naturalWidth)"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The results folder the servers share (so a restarted server finds the stored comparison)."""
    return tmp_path_factory.mktemp("browser-compare-results")


@pytest.fixture(scope="module")
def seen():
    """What the first page showed, for the pages that open its link."""
    return {}


def shown_table(page) -> list[list[str]]:
    page.locator("[data-testid=compare-table] table").wait_for(timeout=120_000)
    return table_cells(page, "compare-table")


def test_a_comparison_in_the_page_downloads_what_it_shows(browser, results, seen, tmp_path):
    with running_ui_server({"BORDERABM_RESULTS_DIR": str(results)}) as (url, _port, _pid):
        tab = Tab(browser, url, "compare_run_and_download")
        page = tab.page
        page.locator(".v-select", has_text="Scenarios").locator(".v-select__slot").click()
        for name in ("trade_corridor", "fence_and_corridor"):  # leave baseline and fence_full
            page.get_by_role("option", name=name, exact=True).click()
        page.keyboard.press("Escape")
        for slider in ("compare-replicates", "compare-days"):  # their smallest: 2 and 30
            page.locator(f".{slider} [role=slider]").press("Home")
        expect(page.get_by_role("slider", name="Replicates")).to_have_attribute(
            "aria-valuenow", "2"
        )
        expect(page.get_by_role("slider", name="Days")).to_have_attribute("aria-valuenow", "30")
        expect_server_values(page, replicates=2, days=30)
        page.get_by_role("button", name="Run comparison").click()
        table = shown_table(page)
        assert table[0] == ["metric", "baseline", "fence_full"]
        assert len(table) > 5

        # The scorecard downloaded as CSV, read back, is the table on the page.
        scorecard = pd.read_csv(tab.download("Scorecard (CSV)", tmp_path), dtype=str,
                                keep_default_na=False)  # fmt: skip
        assert [list(scorecard.columns), *scorecard.values.tolist()] == table

        # The daily series as Parquet holds every run's days and the metric columns.
        series = pd.read_parquet(tab.download("Daily series (Parquet)", tmp_path))
        assert {"scenario", "seed", "day", "attacks", "militant_crossings", "formal_trade_usd",
                "irregular_crossings.Zhob"} <= set(series.columns)  # fmt: skip
        assert len(series) == 2 * 2 * 30 and set(series["scenario"]) == {"baseline", "fence_full"}
        as_csv = pd.read_csv(tab.download("Daily series (CSV)", tmp_path))
        assert list(as_csv.columns) == list(series.columns) and len(as_csv) == len(series)

        # The difference maps are drawn, and each downloads as the PNG shown.
        widths = page.evaluate(MAP_WIDTHS_JS)
        assert len(widths) == len(PLACE_METRICS) and min(widths) >= 600, widths
        chart = tab.download("Download map_irregular_crossings.png (PNG)", tmp_path)
        assert chart.read_bytes().startswith(b"\x89PNG")
        report = tab.download("Report (HTML, zip)", tmp_path)
        assert report.name.endswith("-report.zip") and report.stat().st_size > 10_000

        # The scenario file of a run loads as that run's scenario.
        toml = tab.download("Scenario file of fence_full seed 2 (TOML)", tmp_path)
        document = tomllib.loads(toml.read_text())
        assert (document["name"], document["seed"], document["horizon_days"]) == (
            "fence_full", 2, 30)  # fmt: skip

        link = page.get_by_test_id("compare-link").get_attribute("href")
        assert re.fullmatch(r"\?comparison=[0-9a-f]{12}", link), link
        seen |= {"link": link, "table": table}
        tab.close()


def test_a_comparison_link_opens_the_same_results_after_a_server_restart(browser, results, seen):
    if "link" not in seen:
        pytest.fail("the comparison of the previous test did not finish")
    stored = {p: p.stat().st_mtime_ns for p in results.rglob("*.parquet")}
    with running_ui_server({"BORDERABM_RESULTS_DIR": str(results)}) as (url, _port, _pid):
        # The link alone opens the Compare tab: no click.
        tab = Tab(browser, url + seen["link"], "compare_link_after_restart", click_compare=False)
        assert shown_table(tab.page) == seen["table"]
        expect(tab.page.get_by_role("tab", name="Compare")).to_have_attribute("aria-selected",
                                                                             "true")  # fmt: skip
        widths = tab.page.evaluate(MAP_WIDTHS_JS)
        assert len(widths) == len(PLACE_METRICS) and min(widths) >= 600, widths
        expect(tab.page.get_by_text("Comparison: baseline vs fence_full")).to_be_visible()
        tab.close()

        # An id that no comparison has: one plain line in the page, no traceback.
        tab = Tab(browser, url + "?comparison=0123456789ab", "compare_unknown_link")
        expect(tab.page.get_by_text("no stored comparison has this id")).to_be_visible(
            timeout=30_000
        )
        assert "Traceback" not in tab.page.inner_text("body")
        tab.close()
    # Nothing was run again: the stored runs are the same files, untouched.
    assert {p: p.stat().st_mtime_ns for p in results.rglob("*.parquet")} == stored


def test_a_comparison_across_plausible_worlds_shows_what_the_command_computes(browser, tmp_path):
    """The robust scorecard in the page is the one ``compare --uncertainty`` reads from the store."""
    from borderabm.analysis.robust import load_robust
    from borderabm.experiments.store import ResultsStore
    from borderabm.report.robust import HEADER, all_answers, scorecard_rows

    results = tmp_path / "results"
    results.mkdir()
    with running_ui_server({"BORDERABM_RESULTS_DIR": str(results)}) as (url, _port, _pid):
        tab = Tab(browser, url, "compare_robust")
        page = tab.page
        page.get_by_role("button", name="Across plausible worlds").click()
        page.locator(".v-select", has_text="Scenarios").locator(".v-select__slot").click()
        for name in ("trade_corridor", "fence_and_corridor"):  # leave baseline and fence_full
            page.get_by_role("option", name=name, exact=True).click()
        page.keyboard.press("Escape")
        for slider in ("compare-replicates", "compare-days", "compare-draws"):
            page.locator(f".{slider} [role=slider]").press("Home")
        page.locator(".compare-draws [role=slider]").press("ArrowRight")  # two worlds
        expect(page.get_by_role("slider", name="Plausible worlds (posterior draws)")
               ).to_have_attribute("aria-valuenow", "2")  # fmt: skip
        expect_server_values(page, replicates=2, days=30, draws=2)
        page.get_by_role("button", name="Run comparison").click()
        page.locator("[data-testid=robust-table] table").wait_for(timeout=180_000)
        shown = table_cells(page, "robust-table")
        link = page.get_by_test_id("robust-link").get_attribute("href")
        answers = page.locator(".robust-answers li").all_inner_texts()
        tab.close()

        (store,) = [p for p in results.iterdir() if p.name.startswith("ui-robust-")]
        robust = load_robust(ResultsStore(store))
        assert (robust.worlds, robust.seeds, robust.order) == (2, 2, ["baseline", "fence_full"])
        assert shown == [HEADER, *scorecard_rows(robust)]
        assert answers == all_answers(robust)
        assert re.fullmatch(r"\?comparison=[0-9a-f]{12}", link) and store.name.endswith(link[-12:])

        # Its link, in a new browser context, shows the same scorecard from the store.
        again = Tab(browser, url + link, "compare_robust_link", click_compare=False)
        again.page.locator("[data-testid=robust-table] table").wait_for(timeout=60_000)
        assert table_cells(again.page, "robust-table") == shown
        assert not again.problems, again.problems
        again.close()


def expect_server_values(page, **values: int) -> None:
    """Wait until the server holds the sliders' values (its echo beside each slider).

    The slider's own ``aria-valuenow`` changes in the browser first; a click on *Run comparison*
    sent before the server has the new value would run the old request.
    """
    for name, value in values.items():
        expect(page.locator(f".compare-{name}-value")).to_have_text(str(value), timeout=15_000)
