import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# Dask's distributed config defaults, loaded before any test's `dask.config.set`: leaving such a
# `with` before they are loaded drops them, and a later LocalCluster fails.
import distributed  # noqa: F401
import pytest

# One private world cache for the whole session (subprocesses inherit it): tests never touch the
# user's cache and still build each world only once.
os.environ.setdefault("BORDERABM_CACHE_DIR", tempfile.mkdtemp(prefix="borderabm-test-cache-"))
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
# The nine official crossings of the issue, in the order of the features file.
OFFICIAL_CROSSINGS = [
    "Torkham", "Chaman", "Angoor Adda", "Ghulam Khan", "Kharlachi", "Arandu", "Badini", "Gursal",
    "Nawa Pass",
]  # fmt: skip


@pytest.fixture(scope="session")
def world():
    from borderabm.world import build_world

    return build_world(5.0)


@pytest.fixture()
def write_toml(tmp_path):
    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO / "test-artifacts"


@contextlib.contextmanager
def running_ui_server(extra_env: dict[str, str] | None = None):
    """A real `borderabm ui` server on a free loopback port, with ``extra_env`` set.

    Yields:
        (url, port, pid of the `borderabm ui` wrapper process).
    """
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    env = {**os.environ, **(extra_env or {})}
    process = subprocess.Popen([exe, "ui", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True, env=env)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the UI server did not answer within 60 s")
        yield url, port, process.pid
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def ui_server():
    """A real `borderabm ui` server on a free loopback port: yields (url, port)."""
    with running_ui_server() as (url, port, _pid):
        yield url, port


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is required (apt-get install chromium)"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page_state(monkeypatch):
    """A clean Run tab state (no run, no uploads, no replay asked) and one browser session."""
    from collections import OrderedDict

    from borderabm.apps.ui import app, session
    from borderabm.apps.ui.run_setup import uploaded_scenarios
    from borderabm.apps.ui.stepping import run_control

    store: OrderedDict = OrderedDict()
    monkeypatch.setattr(session, "_STORE", store)
    monkeypatch.setattr(session, "_session_id", lambda: "one-browser")
    for state, value in ((app.run_scenario, None), (app.run_levers, None), (app.run_seed, None),
                         (app.run_days, None), (app.live_model, None), (app.run_extra, None),
                         (app.applied, None), (app.run_error, ""), (app.run_notice, ""),
                         (app.catch_up_to, 0), (app.run_link, None)):  # fmt: skip
        state.set(value)
    uploaded_scenarios.set({})
    app.upload_message.set("")
    app.replay_request.set(None)
    yield store
    model = app.live_model.value
    if model is not None:
        run_control().release(model)
    app.live_model.set(None)
    uploaded_scenarios.set({})


# Run-tab helpers shared by the browser tests ---------------------------------------------------------
def type_into(page, lever: str, value) -> None:
    """Type a value into a lever's field and press Enter."""
    field = page.locator(f".lever-input-{lever} input")
    field.fill(str(value))
    field.press("Enter")


def play_to_end(page, horizon: int) -> None:
    """Press Play and wait for the last day and its totals."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text(re.compile(rf"Day: {horizon} of {horizon}\b"))).to_be_visible(
        timeout=120_000
    )
    # The day counter and the totals reach the browser as separate updates of one render.
    expect(page.locator(".run-totals")).to_contain_text(f"totals to day {horizon}")


def shown_totals(page) -> dict[str, float]:
    """The Run tab's totals: metric name -> the exact value behind the text shown."""
    cells = page.locator(".run-totals td[data-metric]")
    return {
        cell.get_attribute("data-metric"): float(cell.get_attribute("data-value"))
        for cell in cells.all()
    }
