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


# What a name of each kind stands for, in the message for a name that is neither a file nor shipped.
_WHAT = {
    "scenarios": ("a scenario file", "a shipped scenario"),
    "sweeps": ("a sweep file", "a shipped sweep"),
    "calibration": ("a calibration spec file", "a shipped calibration spec"),
}


def shipped_names(kind: str) -> list[str]:
    """The names a file argument of ``kind`` may give, sorted (``borderabm scenarios`` lists them).

    For scenarios: those in ``$BORDERABM_SCENARIOS`` (when set) and the shipped ones.
    """
    folders = [packaged_dir(kind)]
    if kind == "scenarios":
        folders.insert(0, shipped_scenarios_dir())
    names: set[str] = set()
    for folder in folders:
        try:
            names.update(path.stem for path in folder.glob("*.toml"))
        except OSError:  # a $BORDERABM_SCENARIOS that cannot be read lists nothing
            continue
    return sorted(names)


def missing_file_problem(path: str | Path) -> tuple[str, str]:
    """The source and the problem to report for a file argument that does not exist.

    The resolve functions turn a bare name (``nosuch``) into the shipped file it would be, a
    path the user never typed; such a path is reported as the name, with the names allowed.
    Any other path is reported as it is: ``no such file``.
    """
    path = Path(path)
    for kind, (file_words, name_words) in _WHAT.items():
        if path.suffix == ".toml" and path.parent == packaged_dir(kind):
            allowed = ", ".join(shipped_names(kind)) or "none shipped"
            return path.stem, f"not {file_words} or {name_words} (allowed: {allowed})"
    return str(path), "no such file"
