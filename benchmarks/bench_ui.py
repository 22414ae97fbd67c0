"""Rendered steps per second of the run page in Chromium (part of ``make bench``).

Starts ``borderabm ui`` on a free loopback port, opens the run page in Debian's Chromium (Playwright),
presses Play and counts how many days the *browser* shows advancing over 10 seconds.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
WINDOW_S = 10.0


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    server = subprocess.Popen([exe, "ui", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
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
            page.goto(url)
            page.get_by_text(re.compile(r"Day: 0 of")).wait_for(timeout=60_000)

            def shown_day() -> int:
                return int(re.search(r"Day: (\d+) of", page.inner_text("body")).group(1))

            page.get_by_role("button", name="Play").click()
            page.wait_for_function("() => /Day: [1-9]/.test(document.body.innerText)")
            start_day, start = shown_day(), time.perf_counter()
            page.wait_for_timeout(WINDOW_S * 1000)
            end_day, elapsed = shown_day(), time.perf_counter() - start
            page.get_by_role("button", name="Pause").click()
            browser.close()
        rate = (end_day - start_day) / elapsed
        print("| what | measured | target |")
        print("|---|---|---|")
        print(f"| run page, closures_oct2025 (25,000 agents): days shown by Chromium per second "
              f"while playing | **{rate:.1f}** | >= 5 |")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
