"""The UI in a real browser: Debian's Chromium driven by Playwright against a server the test starts.

Every test fails on any HTTP 4xx/5xx response or page error. Screenshots go to test-artifacts/.
"""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, open_tab, wait_for_tab


@pytest.fixture(scope="module")
def server(ui_server):
    return ui_server[0]


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


MAP_PIXEL_JS = """([x, y]) => {
    const canvas = document.querySelector('canvas.borderabm-map');
    if (!canvas) { return [-1, -1, -1]; }  // between a Reset and the new model's map
    return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def map_pixel(page, x: int, y: int) -> list[int]:
    """RGB of one pixel of the map canvas, as the browser drew it."""
    return page.evaluate(MAP_PIXEL_JS, [x, y])


def cell_pixel(cell: tuple[int, int]) -> tuple[int, int]:
    """Canvas pixel inside a grid cell (x, y)."""
    from borderabm.report.raster import PIXELS_PER_CELL
    from borderabm.world import build_world

    height = build_world(5.0).grid.height
    return cell[0] * PIXELS_PER_CELL + 1, (height - 1 - cell[1]) * PIXELS_PER_CELL + 1


def place(kind: str, name: str) -> tuple[int, int]:
    from borderabm.world import build_world

    world = build_world(5.0)
    return cell_pixel((world.crossing if kind == "gate" else world.town)(name).cell)


def test_run_page_loads_with_map_and_legend(page):
    expect(page.get_by_text("Gates:", exact=False)).to_be_visible()
    size = page.evaluate(
        "(() => { const c = document.querySelector('canvas.borderabm-map'); "
        "return [c.width, c.height]; })()"
    )
    assert size[0] >= 800 and size[1] >= 500
    # The terrain was drawn: the map is not blank.
    colours = {tuple(map_pixel(page, x, y)) for x in range(50, 800, 150) for y in (100, 300, 450)}
    assert len(colours) > 3
    expect(page.get_by_role("button", name="Step")).to_be_visible()


def test_step_advances_the_day_and_draws_the_charts(page):
    assert day(page) == 0
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_text(re.compile(r"Day: 1 of"))).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_text(re.compile(r"Day: 2 of"))).to_be_visible(timeout=20_000)
    expect(page.locator("canvas.borderabm-charts")).to_be_visible()
    inked = page.evaluate(
        """() => { const c = document.querySelector('canvas.borderabm-charts');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }"""
    )
    assert inked > 1000  # titles, axes and lines were drawn


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


def test_hover_and_click_show_what_is_there(page):
    canvas = page.locator("canvas.borderabm-map")
    info = page.locator(".cell-info")
    x, y = place("town", "Kabul")
    canvas.hover(position={"x": x, "y": y})
    expect(info).to_contain_text("Under the pointer", timeout=10_000)
    expect(info).to_contain_text("Kabul, 0 km")
    x, y = place("gate", "Torkham")
    canvas.hover(position={"x": x, "y": y})
    expect(info).to_contain_text("Torkham (open), 0 km", timeout=10_000)
    expect(info).to_contain_text("on the Durand Line")
    # A click pins the cell: pointing elsewhere no longer changes the panel.
    canvas.click(position={"x": x, "y": y})
    expect(info).to_contain_text("Clicked cell", timeout=10_000)
    x, y = place("town", "Kabul")
    canvas.hover(position={"x": x, "y": y})
    page.wait_for_timeout(800)
    expect(info).to_contain_text("Torkham (open), 0 km")
    # A second click on the pinned cell unpins it, and hovering works again.
    x, y = place("gate", "Torkham")
    canvas.click(position={"x": x, "y": y})
    expect(info).to_contain_text("Under the pointer", timeout=10_000)
    x, y = place("town", "Kabul")
    canvas.hover(position={"x": x, "y": y})
    expect(info).to_contain_text("Kabul, 0 km", timeout=10_000)


def test_closing_a_gate_and_reset_turns_it_red_on_the_map(page):
    from borderabm.report.raster import GATE_RGB

    px, py = place("gate", "Torkham")
    assert map_pixel(page, px, py) == list(GATE_RGB["open"])
    page.locator(".v-select", has_text="Closed gates").locator(".v-select__slot").click()
    page.get_by_role("option", name="Torkham").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        f"([x, y, r]) => ({MAP_PIXEL_JS})([x, y])[0] === r",
        arg=[px, py, int(GATE_RGB["closed"][0])],
        timeout=30_000,
    )
    assert map_pixel(page, px, py) == list(GATE_RGB["closed"])


def test_a_tab_page_is_still_when_the_tests_click_in_it(page):
    """``open_tab`` returns once the page has slid in, so a click lands where it is aimed.

    CI lost a click on the Compare tab's mode toggle while its page slid in. The helper waits
    while any page of the tabs carries Vuetify's transition classes; a page made to look
    mid-slide must hold it, and the page at rest must release it.
    """
    open_tab(page, "Compare")
    mode = page.get_by_role("button", name="Across plausible worlds")
    settled = mode.bounding_box()
    page.wait_for_timeout(1_000)
    assert mode.bounding_box() == settled
    mode.click()  # aimed at a still button, the click takes
    expect(page.locator(".compare-draws-value")).to_be_visible()

    sliding = "v-window-x-transition-enter-active"
    page.evaluate(
        f"() => document.querySelector('.v-window-item--active').classList.add('{sliding}')"
    )
    with pytest.raises(PlaywrightTimeout):
        wait_for_tab(page, "Compare", timeout=2_000)
    page.evaluate(
        f"() => document.querySelector('.v-window-item--active').classList.remove('{sliding}')"
    )
    wait_for_tab(page, "Compare", timeout=2_000)
    with pytest.raises(PlaywrightTimeout):  # the Run page is not the one shown
        wait_for_tab(page, "Run", timeout=2_000)
    open_tab(page, "Run")
    play = page.get_by_role("button", name="Play")
    settled = play.bounding_box()
    page.wait_for_timeout(1_000)
    assert play.bounding_box() == settled


def test_compare_page_produces_table_and_chart(page):
    open_tab(page, "Compare")
    page.get_by_role("button", name="Run comparison").click()
    scorecard = page.locator("[data-testid=compare-table]")
    expect(scorecard).to_be_visible(timeout=180_000)
    expect(scorecard.get_by_text("metric").first).to_be_visible()
    images = page.evaluate("[...document.querySelectorAll('img')].map(i => i.naturalWidth)")
    assert max(images) >= 600
    expect(page.get_by_text("fence_full").first).to_be_visible()
