"""Place names of the world (crossings, sectors, towns) from the shipped ``features.toml``.

Standard library only, so that the scenario schema can check names without building the world (no
GIS libraries); :mod:`borderabm.world` reads the same file for positions.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

# Beside the world's other data files; read as a resource so no part of borderabm.world is imported.
FEATURES = ("world", "data", "features.toml")


@cache
def read_features() -> dict[str, Any]:
    """Crossings, towns, roads and sector anchors from ``features.toml``."""
    return tomllib.loads(resources.files("borderabm").joinpath(*FEATURES).read_text())


def crossing_names() -> tuple[str, ...]:
    """Names of the crossings known to the world, in file order."""
    return tuple(c["name"] for c in read_features()["crossings"])


def sector_names() -> tuple[str, ...]:
    """Names of the border sectors, in file order (south-west to north-east)."""
    return tuple(s["name"] for s in read_features()["sectors"])
