"""A wheel installed outside the checkout finds its own scenarios, sweeps and calibration specs.

The wheel is built offline (no build isolation) and installed without dependencies into a fresh
virtual environment that borrows the test environment's installed libraries through a ``.pth``
line; the checkout is not on its path and the commands run from an empty folder. (``.ci/run`` also
installs the wheel with its dependencies from the registry into a bare virtual environment.)
"""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO


def _run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--quiet", str(REPO), "-w", str(work / "dist")], cwd=work)  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("borderabm-*.whl"))
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    target = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=work).stdout.strip()  # fmt: skip
    # The test environment's libraries, but not its editable borderabm (a plain path entry, so
    # the editable finder's own .pth files there are not run).
    (Path(target) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    placed = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                   "--no-index", "--quiet", str(wheel)], cwd=work)  # fmt: skip
    assert placed.returncode == 0, placed.stderr
    return venv


def test_the_wheel_carries_and_finds_its_shipped_files(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": ""}
    env.pop("BORDERABM_SCENARIOS", None)
    borderabm = str(installed / "bin" / "borderabm")
    where = _run([str(installed / "bin" / "python"), "-c",
                  "import borderabm; print(borderabm.__file__)"], cwd=tmp_path, env=env)  # fmt: skip
    assert str(installed) in where.stdout, "the wheel, not the checkout, must be imported"

    listed = _run([borderabm, "scenarios"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    for name in ("baseline", "closures_oct2025", "trade_corridor"):
        assert name in listed.stdout

    ran = _run([borderabm, "run", "baseline", "--days", "5", "--json"], cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["summary"]["days"] == 5

    spec = _run([borderabm, "validate", "closures_oct2025"], cwd=tmp_path, env=env)
    assert spec.returncode == 0, spec.stderr
    assert not any(tmp_path.iterdir()), "nothing may be written in the working folder"


def test_shipped_sweeps_and_specs_are_found_by_name(tmp_path, monkeypatch):
    from borderabm.scenario import resolve_scenario_path, resolve_shipped_file

    monkeypatch.chdir(tmp_path)
    assert resolve_shipped_file("fence_patrols", "sweeps").is_file()
    assert resolve_shipped_file("baseline", "calibration").is_file()
    # a path is a path, even when it does not exist (the reader reports it)
    assert resolve_shipped_file("mine.toml", "sweeps") == Path("mine.toml")
    # a custom scenarios folder adds to the shipped scenarios, it does not hide them
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "mine.toml").write_text('name = "mine"\n')
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(custom))
    assert resolve_scenario_path("mine") == custom / "mine.toml"
    assert resolve_scenario_path("baseline").is_file()
