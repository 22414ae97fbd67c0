import os
import tempfile
from pathlib import Path

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
