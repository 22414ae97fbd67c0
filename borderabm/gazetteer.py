"""Place names of the world (crossings, sectors, provinces) from the shipped data files.

Standard library only, so that the scenario schema can check names without building the world (no
GIS libraries); :mod:`borderabm.world` reads the same files for positions and shapes.
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from importlib import resources
from typing import Any

# Beside the world's other data files; read as resources so no part of borderabm.world is imported.
DATA = ("world", "data")
FEATURES = (*DATA, "features.toml")
ADMIN1 = (*DATA, "admin1.geojson")


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


@cache
def province_names() -> tuple[str, ...]:
    """Names of the admin-1 pieces (provinces, or merged provinces) of both countries, in file order.

    These are the names the world gives its provinces (``World.provinces``); a piece without a
    name (no provincial capital inside it) cannot be named in a scenario and is left out.
    """
    text = resources.files("borderabm").joinpath(*ADMIN1).read_text()
    features = json.loads(text)["features"]
    return tuple(f["properties"]["name"] for f in features if f["properties"].get("name"))
