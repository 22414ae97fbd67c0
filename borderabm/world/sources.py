"""Readers for the geography data shipped in ``borderabm/world/data`` (see PROVENANCE.md there).

The installed package reads only these files; ``scripts/build_geodata.py`` regenerates them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np
import shapely
from shapely.geometry import LineString, shape

from borderabm import gazetteer

DATA_FILES = (
    "durand_line.geojson",
    "countries.geojson",
    "admin1.geojson",
    "elevation_globe_30s.npz",
    "features.toml",
)


def data_path(name: str) -> Traversable:
    """Return a traversable path to one shipped data file."""
    return resources.files("borderabm.world").joinpath("data", name)


@cache
def data_fingerprint() -> str:
    """SHA-256 over all shipped data files; part of the world cache key."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        digest.update(name.encode())
        digest.update(data_path(name).read_bytes())
    return digest.hexdigest()


def read_border_line() -> LineString:
    """The AFG-PAK boundary as a lon/lat LineString running from the Iran tripoint to China."""
    features = json.loads(data_path("durand_line.geojson").read_text())["features"]
    line = shape(features[0]["geometry"])
    start_lon = line.coords[0][0]
    # Chainage runs from the Iran tripoint so that sectors read south-west to north-east.
    return line if start_lon < line.coords[-1][0] else line.reverse()


def read_countries() -> dict[str, shapely.Geometry]:
    """Country polygons (lon/lat) keyed by ISO alpha-3 code."""
    features = json.loads(data_path("countries.geojson").read_text())["features"]
    return {f["properties"]["adm0_a3"]: shape(f["geometry"]) for f in features}


@dataclass(frozen=True)
class ProvincePolygon:
    """One admin-1 piece: a province (or merged provinces) of Afghanistan or Pakistan."""

    name: str
    country: str
    geometry: shapely.Geometry


def read_provinces() -> list[ProvincePolygon]:
    """Admin-1 polygons of AFG and PAK (lon/lat), in file order."""
    features = json.loads(data_path("admin1.geojson").read_text())["features"]
    return [
        ProvincePolygon(f["properties"]["name"], f["properties"]["adm0_a3"], shape(f["geometry"]))
        for f in features
    ]


@dataclass(frozen=True)
class ElevationRaster:
    """A regular lon/lat elevation raster (NOAA GLOBE, 30 arc-seconds)."""

    elevation_m: np.ndarray  # int16 [row, col], row 0 at lat_top
    lat_top: float
    lon_left: float
    cell_deg: float


def read_elevation() -> ElevationRaster:
    """The GLOBE elevation window 29-37N, 60-75E."""
    with data_path("elevation_globe_30s.npz").open("rb") as handle, np.load(handle) as archive:
        return ElevationRaster(
            elevation_m=archive["elev"].copy(),
            lat_top=float(archive["lat_top"]),
            lon_left=float(archive["lon_left"]),
            cell_deg=float(archive["cell_deg"]),
        )


def read_features() -> dict:
    """Crossings, towns, roads and sector anchors from ``features.toml``."""
    return gazetteer.read_features()
