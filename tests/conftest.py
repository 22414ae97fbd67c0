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

# One private world cache for the whole session: tests never touch the user's cache and still build
# each world only once. Set here in the main pytest process, before pytest-xdist starts its workers,
# so every worker and subprocess inherits the same folder (its entries are written atomically, so
# two workers building the same world at once is safe).
os.environ.setdefault("BORDERABM_CACHE_DIR", tempfile.mkdtemp(prefix="borderabm-test-cache-"))
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
# The nine official crossings of the issue, in the order of the features file.
OFFICIAL_CROSSINGS = [
    "Torkham", "Chaman", "Angoor Adda", "Ghulam Khan", "Kharlachi", "Arandu", "Badini", "Gursal",
    "Nawa Pass",
]  # fmt: skip


# Under pytest-xdist (`--dist loadscope`, no reordering) each module goes whole to the next free
# worker, in collection order. The slowest modules go first (seconds of one suite run on two busy
# cores in brackets), so the workers end together instead of one waiting for the other's last long
# module. A stale list costs only speed; a run in one process keeps the usual order.
SLOWEST_MODULES_FIRST = (
    "tests/validation/test_validation_facts.py",  # 573 (the validation runs of its fixture)
    "tests/test_results_unchanged.py",  # 512
    "tests/test_compare_page.py",  # 213
    "tests/test_browser_run.py",  # 187
    "tests/test_experiments.py",  # 178
    "tests/test_behaviour.py",  # 166
    "tests/test_fuzz_cli.py",  # 145
    "tests/test_cli.py",  # 136
    "tests/test_calibration.py",  # 134
    "tests/test_discovery.py",  # 123
    "tests/test_hindcast.py",  # 121
    "tests/test_ui_run_setup.py",  # 103
    "tests/test_browser_analyst.py",  # 100
)


def pytest_collection_modifyitems(config, items):
    """On pytest-xdist workers: the slowest modules first, each module's tests in their order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {module: place for place, module in enumerate(SLOWEST_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


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


def _start_ui_server(env: dict[str, str]) -> tuple[subprocess.Popen, str, int] | None:
    """Start `borderabm ui` on a free loopback port; None if it exited before it answered.

    Another test worker may take the probed port before the server binds it (the server then
    exits at once, "the port is in use"); the caller tries a new port.
    """
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    process = subprocess.Popen([exe, "ui", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True, env=env)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return process, url, port
        except OSError:
            if process.poll() is not None:
                return None
            time.sleep(0.3)
    _stop(process)
    pytest.fail("the UI server did not answer within 60 s")


def _stop(process: subprocess.Popen) -> None:
    """End a `borderabm ui` server and the session it leads."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


@contextlib.contextmanager
def running_ui_server(extra_env: dict[str, str] | None = None):
    """A real `borderabm ui` server on a free loopback port, with ``extra_env`` set.

    Yields:
        (url, port, pid of the `borderabm ui` wrapper process).
    """
    env = {**os.environ, **(extra_env or {})}
    for _attempt in range(3):
        started = _start_ui_server(env)
        if started is not None:
            break
    else:
        pytest.fail("the UI server exited at start three times (ports taken?)")
    process, url, port = started
    try:
        yield url, port, process.pid
    finally:
        _stop(process)


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


# Tab and Run-tab helpers shared by the browser tests -----------------------------------------------
TAB_PAGES = {"Run": "run-page", "Compare": "compare-page"}  # the class of each tab's page
TAB_SETTLED_JS = """page => {
    const items = [...document.querySelectorAll(".v-tabs-items .v-window-item")];
    const shown = items.find(item => item.classList.contains("v-window-item--active"));
    return Boolean(shown && shown.querySelector("." + page))
        && !items.some(item => /transition/.test(item.className));
}"""


def wait_for_tab(page, name: str, timeout: float = 60_000) -> None:
    """Wait until the tab ``name`` shows its page and that page has stopped sliding in.

    Vuetify slides a tab's page in from the side for about 0.3 s. A click aimed at a button of the
    page while it moves can land on its neighbour; on a loaded CI machine the Compare tab's mode
    toggle was clicked that way and stayed on "New comparison".
    """
    page.wait_for_function(TAB_SETTLED_JS, arg=TAB_PAGES[name], timeout=timeout)


def open_tab(page, name: str) -> None:
    """Click the tab ``name`` and wait until its page is in place (see :func:`wait_for_tab`)."""
    page.get_by_role("tab", name=name).click()
    wait_for_tab(page, name)


def type_into(page, lever: str, value) -> None:
    """Type a value into a lever's field and press Enter."""
    field = page.locator(f".lever-input-{lever} input")
    field.fill(str(value))
    field.press("Enter")


def play_to_end(page, horizon: int) -> None:
    """Press Play and wait for the last day and its totals."""
    from playwright.sync_api import expect

    wait_for_tab(page, "Run")  # a replay opens the Run tab: Play must not be pressed as it slides
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text(re.compile(rf"Day: {horizon} of {horizon}\b"))).to_be_visible(
        timeout=120_000
    )
    # The day counter and the totals reach the browser as separate updates of one render.
    expect(page.locator(".run-totals")).to_contain_text(f"totals to day {horizon}")


TOTALS_READ = """table => ({
    header: table.querySelector("th").textContent,
    cells: [...table.querySelectorAll("td[data-metric]")].map(c => [c.dataset.metric, c.dataset.value]),
})"""


def table_cells(page, test_id: str) -> list[list[str]]:
    """The text of every cell of the table with this ``data-testid``, row by row (one evaluation)."""
    return page.evaluate(
        """id => [...document.querySelectorAll(`[data-testid=${id}] tr`)]
            .map(row => [...row.children].map(cell => cell.innerText))""",
        test_id,
    )


def shown_totals(page, day: int) -> dict[str, float]:
    """The Run tab's totals to ``day``: metric name -> the exact value behind the text shown.

    The table is read in one evaluation in the page, once its header says ``day``: the day counter
    and the totals reach the browser as separate updates of one render, and a cell-by-cell read
    could mix the totals of two days.
    """
    from playwright.sync_api import expect

    table = page.locator(".run-totals table")
    expect(table).to_contain_text(f"totals to day {day}", timeout=30_000)
    read = table.evaluate(TOTALS_READ)
    assert read["header"] == f"totals to day {day}", read["header"]
    return {metric: float(value) for metric, value in read["cells"]}


def stored_points_sweep(tmp_path_factory, prefix: str, days: int):
    """A scenarios folder (copies of baseline and fence_full) and a stored sweep of them at two
    design points (patrol units): stored runs whose replays carry overrides.

    Returns:
        (scenarios folder, results folder, the sweep, its stored runs).
    """
    import shutil

    from borderabm.experiments.store import ResultsStore
    from borderabm.experiments.sweep import load_sweep, run_sweep
    from borderabm.scenario import resolve_relative

    folder = tmp_path_factory.mktemp(f"{prefix}-scenarios")
    shutil.copy(SCENARIOS / "baseline.toml", folder / "mine_a.toml")
    shutil.copy(SCENARIOS / "fence_full.toml", folder / "mine_b.toml")
    results = tmp_path_factory.mktemp(f"{prefix}-results")
    sweep_file = tmp_path_factory.mktemp(f"{prefix}-sweeps") / "points.toml"
    sweep_file.write_text(
        f'name = "points"\nscenarios = ["{folder / "mine_a.toml"}", "{folder / "mine_b.toml"}"]\n'
        f"replicates = 1\nseed = 3\ndays = {days}\n"
        '[design]\nkind = "lhs"\nsamples = 2\n'
        '[parameters."patrols.units"]\nlow = 200\nhigh = 1500\ninteger = true\n'
    )
    sweep = load_sweep(sweep_file, resolve_relative)
    store = ResultsStore(results / "points")
    run_sweep(sweep, store, workers=1)
    return folder, results, sweep, store.runs()


class Tab:
    """A page in its own browser context that collects HTTP errors and page errors.

    It opens ``url`` and, unless ``click_compare`` is False (a link that opens a tab of its own),
    clicks the Compare tab; :meth:`close` keeps a screenshot and fails on any problem collected.
    """

    def __init__(self, browser, url: str, name: str, click_compare: bool = True):
        self.name = name
        self.context = browser.new_context(viewport={"width": 1600, "height": 1200},
                                           accept_downloads=True)  # fmt: skip
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}")
                     if r.status >= 400 else None)  # fmt: skip
        self.page.goto(url)
        if click_compare:
            open_tab(self.page, "Compare")

    def download(self, button: str, folder: Path) -> Path:
        with self.page.expect_download(timeout=30_000) as info:
            self.page.get_by_role("button", name=button).first.click()
        path = folder / info.value.suggested_filename
        info.value.save_as(path)
        return path

    def close(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}.png"), full_page=True)
        self.context.close()
        assert not self.problems, self.problems
