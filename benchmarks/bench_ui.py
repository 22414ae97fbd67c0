"""Rendered steps per second of the run page in Chromium (part of ``make bench``).

Starts ``borderabm ui`` on a free loopback port, opens the run page in Debian's Chromium (Playwright),
presses Play and times how fast the *browser* shows the days advancing (days 5 to 125), then
how quickly Pause takes effect.
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

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
FIRST_DAY, LAST_DAY = 5, 125  # the scenario runs 150 days


def agent_count() -> int:
    """Agents (and patrol units) of the scenario the run page opens on."""
    from borderabm.scenario import load_scenario, shipped_scenarios_dir

    settings = load_scenario(shipped_scenarios_dir() / "closures_oct2025.toml")
    population = settings.population
    return population.traders + population.refugees + population.militants + settings.patrols.units


def main() -> None:
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
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            opened = time.perf_counter()
            page.goto(url)
            page.get_by_text(re.compile(r"Day: 0 of")).wait_for(timeout=60_000)
            ready_s = time.perf_counter() - opened

            def shown_day() -> int:
                return int(re.search(r"Day: (\d+) of", page.inner_text("body")).group(1))

            def reached(day: int) -> str:
                return f"() => {{ const m = /Day: (\\d+) of/.exec(document.body.innerText);" \
                       f" return m && +m[1] >= {day}; }}"  # fmt: skip

            page.get_by_role("button", name="Play").click()
            page.wait_for_function(reached(FIRST_DAY), timeout=60_000)
            start_day, start = shown_day(), time.perf_counter()
            page.wait_for_function(reached(LAST_DAY), timeout=120_000, polling=20)
            end_day, elapsed = shown_day(), time.perf_counter() - start
            clicked = time.perf_counter()
            page.get_by_role("button", name="Pause").click()
            page.get_by_role("button", name="Play").wait_for()
            pause_s = time.perf_counter() - clicked
            paused_day = shown_day()
            page.wait_for_timeout(2000)
            drift = shown_day() - paused_day
            # The new user's minute: then open Compare and run its default, fencing vs corridor.
            page.get_by_role("tab", name="Compare").click()
            page.get_by_role("button", name="Run comparison").click()
            page.locator("[data-testid=compare-table]").wait_for(timeout=300_000)
            journey_s = time.perf_counter() - opened
            browser.close()
        rate = (end_day - start_day) / elapsed
        print("| what | measured | target |")
        print("|---|---|---|")
        print(f"| run page, closures_oct2025 ({agent_count():,} agents): days drawn by Chromium "
              f"per second "
              f"while playing (days {start_day}-{end_day}) | **{rate:.1f}** | >= 5 |")  # fmt: skip
        print(f"| Pause: click to the Play button back | {pause_s:.2f} s | responsive |")
        print(f"| days shown after Pause (2 s later) | {drift} | 0 |")
        print(f"| page open to the map of closures_oct2025 at day 0 | {ready_s:.1f} s | |")
        print(f"| a new user's visit: open, watch day 0-{LAST_DAY} of closures_oct2025, pause, "
              f"compare fencing vs corridor (4 scenarios x 5 replicates x 180 days) | "
              f"**{journey_s:.0f} s** | < 60 s |")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    main()
