"""The UI in a real browser: Debian's Chromium driven by Playwright against a server the test starts.

Every test fails on any HTTP 4xx/5xx response or page error. Screenshots go to test-artifacts/.
"""

import os
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def server(ui_server):
    return ui_server[0]


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "Debian's chromium is required (apt-get install chromium)"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser, server, request):
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)  # fmt: skip
    page.goto(server)
    expect(page.get_by_text(re.compile(r"Day: 0 of"))).to_be_visible(timeout=60_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not problems, problems


def day(page) -> int:
    text = page.get_by_text(re.compile(r"Day: \d+ of")).inner_text()
    return int(re.search(r"Day: (\d+)", text).group(1))


def map_pixel(page, x: int, y: int) -> list[int]:
    """RGB of one pixel of the map image (the largest image on the page)."""
    return page.evaluate(
        """([x, y]) => {
            const imgs = [...document.querySelectorAll('img')];
            const img = imgs.reduce((a, b) => (a.naturalWidth > b.naturalWidth ? a : b));
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
            return Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
        }""",
        [x, y],
    )


def test_run_page_loads_with_map_and_legend(page):
    expect(page.get_by_text("Gates:", exact=False)).to_be_visible()
    widths = page.evaluate("[...document.querySelectorAll('img')].map(i => i.naturalWidth)")
    assert max(widths) >= 800  # the map is drawn
    expect(page.get_by_role("button", name="Step")).to_be_visible()


def test_step_advances_the_day(page):
    assert day(page) == 0
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_text(re.compile(r"Day: 1 of"))).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_text(re.compile(r"Day: 2 of"))).to_be_visible(timeout=20_000)


def test_play_advances_and_pause_stops(page):
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "() => /Day: ([3-9]|\\d\\d+) of/.test(document.body.innerText)", timeout=30_000
    )
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=10_000)
    stopped = day(page)
    page.wait_for_timeout(1500)
    assert day(page) == stopped
    assert stopped >= 3


def test_closing_a_gate_and_reset_turns_it_red_on_the_map(page):
    from borderabm.geography import build_world
    from borderabm.viz.raster import GATE_RGB, PIXELS_PER_CELL

    world = build_world(5.0)
    x, y = world.crossing("Torkham").cell
    px, py = x * PIXELS_PER_CELL + 1, (world.grid.height - 1 - y) * PIXELS_PER_CELL + 1
    assert map_pixel(page, px, py) == list(GATE_RGB["open"])
    page.locator(".v-select", has_text="Closed gates").locator(".v-select__slot").click()
    page.get_by_role("option", name="Torkham").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        """([x, y, r]) => { const imgs=[...document.querySelectorAll('img')];
            const img = imgs.reduce((a, b) => (a.naturalWidth > b.naturalWidth ? a : b));
            const c=document.createElement('canvas'); c.width=img.naturalWidth;
            c.height=img.naturalHeight; const g=c.getContext('2d'); g.drawImage(img,0,0);
            return g.getImageData(x, y, 1, 1).data[0] === r; }""",
        arg=[px, py, int(GATE_RGB["closed"][0])],
        timeout=30_000,
    )
    assert map_pixel(page, px, py) == list(GATE_RGB["closed"])


def test_compare_page_produces_table_and_chart(page):
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Run comparison").click()
    scorecard = page.locator("[data-testid=compare-table]")
    expect(scorecard).to_be_visible(timeout=180_000)
    expect(scorecard.get_by_text("metric").first).to_be_visible()
    images = page.evaluate("[...document.querySelectorAll('img')].map(i => i.naturalWidth)")
    assert max(images) >= 600
    expect(page.get_by_text("fence_full").first).to_be_visible()
