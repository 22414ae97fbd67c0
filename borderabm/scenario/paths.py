"""Where input files are found: the shipped scenarios, sweeps and calibration specs, and the user's.

A file argument is a path to a TOML file, or the name of a shipped file of its kind. Scenario names
are looked up in ``$BORDERABM_SCENARIOS`` (when set) before the shipped ones.
"""

from __future__ import annotations

import os
from pathlib import Path

# The scenarios, sweeps and calibration specs ship inside the package (a wheel installed anywhere
# finds them); the checkout's top-level scenarios/, sweeps/ and calibration/ are links to them.
PACKAGE_DATA = Path(__file__).resolve().parents[1] / "data"
SHIPPED_KINDS = ("scenarios", "sweeps", "calibration")


def packaged_dir(kind: str) -> Path:
    """The package's folder of shipped ``scenarios``, ``sweeps`` or ``calibration`` specs."""
    if kind not in SHIPPED_KINDS:
        raise ValueError(f"no shipped {kind!r} (allowed: {', '.join(SHIPPED_KINDS)})")
    return PACKAGE_DATA / kind


def shipped_scenarios_dir() -> Path:
    """Where the scenarios live: ``$BORDERABM_SCENARIOS``, else the package's own."""
    configured = os.environ.get("BORDERABM_SCENARIOS")
    if configured:
        return Path(configured)
    return packaged_dir("scenarios")


def resolve_shipped_file(name_or_path: str | Path, kind: str) -> Path:
    """A file argument: a path to a TOML file, else the name of a shipped file of that kind.

    ``borderabm sweep fence_patrols`` and ``borderabm calibrate baseline`` name shipped files;
    anything that exists, or ends in ``.toml``, is taken as a path.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml":
        return path
    return packaged_dir(kind) / f"{name_or_path}.toml"


def resolve_scenario_path(name_or_path: str) -> Path:
    """A scenario argument: a path to a TOML file, or the name of a scenario.

    Names are looked up in ``$BORDERABM_SCENARIOS`` (when set) and then among the shipped ones.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml":
        return path
    configured = shipped_scenarios_dir() / f"{name_or_path}.toml"
    if configured.exists():
        return configured
    return packaged_dir("scenarios") / f"{name_or_path}.toml"


def resolve_relative(entry: str, folder: Path) -> Path:
    """A scenario named in a sweep or spec file: beside that file, else a path or a shipped name."""
    beside = folder / entry
    if beside.exists():
        return beside
    return resolve_scenario_path(entry)
