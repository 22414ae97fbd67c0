"""The run page in Chromium: speed, memory and concurrent sessions (part of ``make bench``).

Starts ``borderabm ui`` on a free loopback port and drives Debian's Chromium (Playwright):

* **speed**: presses Play and times how fast the *browser* shows the days advancing (days 5 to 125),
  then how quickly Pause takes effect, then a new user's visit ending with a comparison;
* **memory** (a fresh server): the server's resident memory with one page open, after 10, 20 and
  30 Resets, and after the tab closes (polled for up to ``CLOSE_WAIT_S``);
* **concurrent** (the same server): four pages at once, their memory loaded and playing, and the
  days per second each of the four sees while all play.

Memory is the RSS of the Solara process (the child of the ``borderabm ui`` wrapper), in MiB.
``python benchmarks/bench_ui.py [speed] [memory] [concurrent]`` runs only the parts named.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
from playwright.sync_api import Browser, Page, sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
FIRST_DAY, LAST_DAY = 5, 125  # the scenario runs 150 days
RESETS = 30
CLOSE_WAIT_S = 60  # how long to watch the server's memory after the tab closes, at most
MIN_CLOSE_WAIT_S = 10  # and at least (the server notices a closed tab within seconds)
SESSIONS = 4
PLAY_WINDOW_S = 20  # how long the four sessions are timed while all of them play
VIEWPORT = {"width": 1600, "height": 1200}
DAY_PATTERN = re.compile(r"Day: (\d+) of (\d+)")


def agent_count() -> int:
    """Agents (and patrol units) of the scenario the run page opens on."""
    from borderabm.scenario import load_scenario, shipped_scenarios_dir

    settings = load_scenario(shipped_scenarios_dir() / "closures_oct2025.toml")
    population = settings.population
    return population.traders + population.refugees + population.militants + settings.patrols.units


@contextmanager
def ui_server() -> Iterator[tuple[str, subprocess.Popen]]:
    """A fresh ``borderabm ui`` on a free loopback port with a fresh results folder."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    # A fresh results folder, so that the comparison really runs rather than reading old runs.
    results = tempfile.mkdtemp(prefix="borderabm-bench-ui-")
    environment = {**os.environ, "BORDERABM_RESULTS_DIR": results}
    server = subprocess.Popen([exe, "ui", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              env=environment)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        yield url, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(results, ignore_errors=True)


def server_rss_mib(server: subprocess.Popen) -> float:
    """Resident memory of the Solara process (the wrapper's child), MiB."""
    children = psutil.Process(server.pid).children(recursive=True)
    return max(child.memory_info().rss for child in children) / 2**20


def open_page(browser: Browser, url: str) -> Page:
    """A new tab (its own browser context) on the run page, once the map shows day 0."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url)
    page.get_by_text(re.compile(r"Day: 0 of")).wait_for(timeout=60_000)
    return page


def shown_day(page: Page) -> tuple[int, int]:
    """The day and horizon the page shows."""
    day, horizon = DAY_PATTERN.search(page.inner_text("body")).groups()
    return int(day), int(horizon)


def reached(day: int) -> str:
    """A page function: true once the page shows at least ``day``."""
    return (f"() => {{ const m = /Day: (\\d+) of/.exec(document.body.innerText);"
            f" return m && +m[1] >= {day}; }}")  # fmt: skip


def showing(day: int) -> str:
    """A page function: true while the page shows exactly ``day``."""
    return (f"() => {{ const m = /Day: (\\d+) of/.exec(document.body.innerText);"
            f" return m && +m[1] === {day}; }}")  # fmt: skip


def settle() -> None:
    """Let the server finish what it was doing before its memory is read."""
    time.sleep(2.0)


def rss_after_close(server: subprocess.Popen, start: float) -> tuple[float, float]:
    """The server's memory once back within 10% of ``start`` (or after ``CLOSE_WAIT_S``).

    Returns:
        The RSS in MiB and the seconds waited (at least ``MIN_CLOSE_WAIT_S``).
    """
    closed_at = time.perf_counter()
    time.sleep(MIN_CLOSE_WAIT_S)
    rss = server_rss_mib(server)
    while time.perf_counter() - closed_at < CLOSE_WAIT_S and rss > 1.1 * start:
        time.sleep(5)
        rss = server_rss_mib(server)
    return rss, time.perf_counter() - closed_at


def bench_speed(browser: Browser) -> list[str]:
    """One user: days per second while playing, Pause, and a visit ending with a comparison."""
    with ui_server() as (url, _server):
        page = browser.new_page(viewport=VIEWPORT)
        opened = time.perf_counter()
        page.goto(url)
        page.get_by_text(re.compile(r"Day: 0 of")).wait_for(timeout=60_000)
        ready_s = time.perf_counter() - opened
        page.get_by_role("button", name="Play").click()
        page.wait_for_function(reached(FIRST_DAY), timeout=60_000)
        start_day, start = shown_day(page)[0], time.perf_counter()
        page.wait_for_function(reached(LAST_DAY), timeout=120_000, polling=20)
        end_day, elapsed = shown_day(page)[0], time.perf_counter() - start
        clicked = time.perf_counter()
        page.get_by_role("button", name="Pause").click()
        page.get_by_role("button", name="Play").wait_for()
        pause_s = time.perf_counter() - clicked
        paused_day = shown_day(page)[0]
        page.wait_for_timeout(2000)
        drift = shown_day(page)[0] - paused_day
        # The new user's minute: then open Compare and run its default, fencing vs corridor.
        page.get_by_role("tab", name="Compare").click()
        page.get_by_role("button", name="Run comparison").click()
        page.locator("[data-testid=compare-table]").wait_for(timeout=300_000)
        journey_s = time.perf_counter() - opened
        page.close()
    rate = (end_day - start_day) / elapsed
    return [
        f"| run page, closures_oct2025 ({agent_count():,} agents): days drawn by Chromium per "
        f"second while playing (days {start_day}-{end_day}) | **{rate:.1f}** | >= 5 |",
        f"| Pause: click to the Play button back | {pause_s:.2f} s | responsive |",
        f"| days shown after Pause (2 s later) | {drift} | 0 |",
        f"| page open to the map of closures_oct2025 at day 0 | {ready_s:.1f} s | |",
        f"| a new user's visit: open, watch day 0-{LAST_DAY} of closures_oct2025, pause, compare "
        f"fencing vs corridor (4 scenarios x 5 replicates x 180 days) | **{journey_s:.0f} s** "
        f"| < 60 s |",
    ]


def bench_memory_and_sessions(browser: Browser, parts: set[str]) -> list[str]:
    """A fresh server: memory over Resets and after the tab closes; then four sessions at once."""
    rows = []
    with ui_server() as (url, server):
        # A first visit loads the code, the map and the route fields: the server's floor.
        warm = open_page(browser, url)
        warm.context.close()
        settle()
        idle = server_rss_mib(server)
        rows.append(f"| server idle after one visit (memory floor) | {idle:,.0f} MiB | |")
        if "memory" in parts:
            rows += _resets_then_close(browser, url, server, idle)
        if "concurrent" in parts:
            rows += _concurrent_sessions(browser, url, server)
    return rows


def _resets_then_close(
    browser: Browser, url: str, server: subprocess.Popen, idle: float
) -> list[str]:
    page = open_page(browser, url)
    settle()
    opened = server_rss_mib(server)
    rows = [f"| one page open | {opened:,.0f} MiB | |"]
    after = {}
    for reset in range(1, RESETS + 1):
        # Step to day 1, then Reset back to day 0: the day counter shows when the new model is in.
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(showing(1), timeout=60_000)
        page.get_by_role("button", name="Reset").click()
        page.wait_for_function(showing(0), timeout=60_000)
        if reset % 10 == 0:
            settle()
            after[reset] = server_rss_mib(server)
    # The collector may free old models between two readings: report the largest growth seen.
    resets, highest = max(after.items(), key=lambda item: item[1])
    rows.append(
        f"| after {' / '.join(str(n) for n in after)} Resets | "
        f"{' / '.join(f'{v:,.0f}' for v in after.values())} MiB (at most "
        f"**{highest - opened:+,.0f} MiB**, {(highest - opened) / resets:+.1f} MiB per Reset) "
        f"| growth < 50 MB over {RESETS} |"
    )
    page.context.close()
    rss, waited = rss_after_close(server, idle)
    rows.append(
        f"| tab closed, after {waited:.0f} s (polled up to {CLOSE_WAIT_S} s) | **{rss:,.0f} MiB** "
        f"({rss - opened:+,.0f} vs one page open, {rss - idle:+,.0f} vs idle) | within 10% of "
        f"the start |"
    )
    return rows


def _concurrent_sessions(browser: Browser, url: str, server: subprocess.Popen) -> list[str]:
    before = server_rss_mib(server)
    pages = [open_page(browser, url) for _ in range(SESSIONS)]
    settle()
    loaded = server_rss_mib(server)
    for page in pages:
        page.get_by_role("button", name="Play").click()
    for page in pages:
        page.wait_for_function(reached(FIRST_DAY), timeout=60_000)
    # Sample every page's day counter about once a second while all of them play.
    samples: list[list[tuple[float, int, int]]] = [[] for _ in pages]
    peak = loaded
    start = time.perf_counter()
    while time.perf_counter() - start < PLAY_WINDOW_S:
        for page, record in zip(pages, samples, strict=True):
            record.append((time.perf_counter(), *shown_day(page)))
        peak = max(peak, server_rss_mib(server))
        time.sleep(1.0)
    rates = []
    for record in samples:
        # Only while every session was still playing (before any reached its horizon).
        playing = [(t, day) for t, day, horizon in record if day < horizon]
        (t0, d0), (t1, d1) = playing[0], playing[-1]
        rates.append((d1 - d0) / (t1 - t0))
    for page in pages:
        page.context.close()
    rss, waited = rss_after_close(server, before)
    shown = ", ".join(f"{rate:.1f}" for rate in rates)
    return [
        f"| {SESSIONS} pages open at once | {loaded:,.0f} MiB ({loaded - before:+,.0f}) | |",
        f"| {SESSIONS} pages playing | {peak:,.0f} MiB at most | |",
        f"| {SESSIONS} pages closed, after {waited:.0f} s | {rss:,.0f} MiB "
        f"({rss - before:+,.0f} vs before they opened) | within 10% |",
        f"| days per second seen by each of {SESSIONS} sessions playing at once "
        f"(closures_oct2025, {PLAY_WINDOW_S} s) | **{shown}** (total {sum(rates):.1f}) "
        f"| >= 5 each |",
    ]


def main() -> None:
    parts = set(sys.argv[1:]) or {"speed", "memory", "concurrent"}
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            if "speed" in parts:
                rows += bench_speed(browser)
            if parts & {"memory", "concurrent"}:
                rows += bench_memory_and_sessions(browser, parts)
        finally:
            browser.close()
    print("| what | measured | target |")
    print("|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
