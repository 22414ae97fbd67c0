import os
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
    from borderabm.geography import build_world

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


@pytest.fixture(scope="module")
def ui_server():
    """A real `borderabm ui` server on a free loopback port: yields (url, port)."""
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    process = subprocess.Popen([exe, "ui", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the UI server did not answer within 60 s")
    yield url, port
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)
