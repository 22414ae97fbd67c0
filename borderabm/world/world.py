"""The World: the gridded Durand Line with its layers and named features.

``build_world`` turns the shipped data into numpy layers on a projected grid; results are cached on
disk keyed by the data, the parameters and this package's geography code, so a rebuild is instant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from scipy import ndimage
from shapely.geometry import LineString

from borderabm.metrics import Dim
from borderabm.world import border as border_mod
from borderabm.world import grid as grid_mod
from borderabm.world import terrain
from borderabm.world.cache import cache_root, load_shared
from borderabm.world.grid import GridSpec, grid_around
from borderabm.world.sources import (
    data_fingerprint,
    read_border_line,
    read_countries,
    read_elevation,
    read_features,
    read_provinces,
)

COUNTRIES = ("other", "AF", "PK")
AF, PK = 1, 2
MIN_CELL_KM, MAX_CELL_KM = 2.0, 20.0
DEFAULT_CELL_KM = 5.0
DEFAULT_BUFFER_KM = 150.0
# The grid never reaches past the data: the elevation window (29-37N), the country window (60-75E),
# stretched 0.05 deg north so the line's Wakhan end (37.02N) stays on the grid.
DATA_WINDOW = (60.0, 29.0, 75.0, 37.05)
CACHE_FORMAT = 1


@dataclass(frozen=True)
class Place:
    """A named place of the gazetteer and the grid cell it stands on."""

    id: int
    name: str
    lat: float
    lon: float
    cell: tuple[int, int]


@dataclass(frozen=True)
class Crossing(Place):
    """An official border crossing placed on its nearest border cell."""

    snap_km: float  # distance from the published coordinate to the cell centre
    uncertainty_km: float
    sector: int
    chainage_km: float
    official: bool
    note: str


@dataclass(frozen=True)
class Town(Place):
    """A town (market or reporting place) on the cell that contains it."""

    country: str
    population: int
    market: bool
    province: int


@dataclass(frozen=True)
class Road:
    """A road corridor as the ordered cells it runs through."""

    id: int
    name: str
    cells: np.ndarray  # int [n, 2]


@dataclass(frozen=True)
class Sector:
    """A named stretch of the border, facing a Pakistani agency/district."""

    id: int
    name: str
    faces_pk: str
    faces_af: str
    start_km: float
    end_km: float
    length_km: float
    crossings: tuple[str, ...]


@dataclass(frozen=True)
class Province:
    """An admin-1 piece (province or merged provinces) used for reporting."""

    id: int
    name: str
    country: str


@dataclass(frozen=True)
class World:
    """The gridded border belt. Layers are numpy arrays indexed ``[x, y]``."""

    grid: GridSpec
    country: np.ndarray  # int8, index into COUNTRIES
    province: np.ndarray  # int16, index into provinces, -1 outside AF/PK
    elevation_m: np.ndarray
    ruggedness_m: np.ndarray
    foot_hours_per_km: np.ndarray
    vehicle_hours_per_km: np.ndarray
    road: np.ndarray  # int8, index into roads, -1 off-road
    is_border: np.ndarray
    border_km: np.ndarray
    chainage_km: np.ndarray
    distance_to_border_km: np.ndarray
    sector: np.ndarray  # int8, sector of the nearest border cell (every cell has one)
    lon: np.ndarray
    lat: np.ndarray
    border_path: np.ndarray  # int [n, 2] border cells in line order
    border_line_m: np.ndarray  # float [n, 2] projected vertices of the line
    border_geodesic_km: float
    crossings: tuple[Crossing, ...]
    towns: tuple[Town, ...]
    roads: tuple[Road, ...]
    sectors: tuple[Sector, ...]
    provinces: tuple[Province, ...]
    layer_names: tuple[str, ...] = field(
        default=(
            "country",
            "province",
            "elevation_m",
            "ruggedness_m",
            "foot_hours_per_km",
            "vehicle_hours_per_km",
            "road",
            "is_border",
            "border_km",
            "chainage_km",
            "distance_to_border_km",
            "sector",
        )
    )

    @property
    def border_length_km(self) -> float:
        """Length of the line credited to border cells (projected, so within ~0.5% of geodesic)."""
        return float(self.border_km.sum())

    @property
    def border_path_km(self) -> float:
        """Length of the staircase through border-cell centres (what a cell-by-cell walk sees)."""
        return border_mod.path_length_km(self.border_path, self.grid.cell_km)

    def crossing(self, name: str) -> Crossing:
        """Look a crossing up by name."""
        return next(c for c in self.crossings if c.name == name)

    def town(self, name: str) -> Town:
        """Look a town up by name."""
        return next(t for t in self.towns if t.name == name)

    def sector_by_name(self, name: str) -> Sector:
        """Look a sector up by name."""
        return next(s for s in self.sectors if s.name == name)

    def place_labels(self) -> dict[str, list[str]]:
        """The places each breakdown is by (``Dim`` value -> labels, in the world's order).

        A metric broken down by two kinds of place names its columns ``metric.place`` for both
        (attacks: by province and by town), so a label must not serve two kinds: a town named like
        a province (Kabul) is labelled ``Kabul (town)`` and keeps a column of its own.
        """
        provinces = [p.name for p in self.provinces]
        taken = set(provinces)
        return {
            Dim.GATE.value: [c.name for c in self.crossings],
            Dim.SECTOR.value: [s.name for s in self.sectors],
            Dim.PROVINCE.value: provinces,
            Dim.TOWN.value: [f"{t.name} (town)" if t.name in taken else t.name for t in self.towns],
        }

    def country_at(self, cell: tuple[int, int]) -> str:
        """Country code ('AF', 'PK' or 'other') of a cell."""
        return COUNTRIES[int(self.country[cell])]


def build_world(
    cell_km: float = DEFAULT_CELL_KM,
    buffer_km: float = DEFAULT_BUFFER_KM,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> World:
    """Build (or load from the disk cache) the world at a given resolution.

    With the cache, every caller in the process gets the same read-only world (its arrays are not
    writeable), loaded once.

    Args:
        cell_km: Cell side in km, between 2 and 20.
        buffer_km: How far the grid reaches beyond the border line's bounding box, km.
        cache_dir: Where cached worlds live; default ``$BORDERABM_CACHE_DIR`` or
            ``~/.cache/borderabm``.
        use_cache: Read and write the cache, and share the world in memory; without it, a fresh
            (writeable) world is built.

    Raises:
        ValueError: If ``cell_km`` or ``buffer_km`` is out of range.
    """
    if not MIN_CELL_KM <= cell_km <= MAX_CELL_KM:
        raise ValueError(f"cell_km must be between {MIN_CELL_KM} and {MAX_CELL_KM}, got {cell_km}")
    if not 0 <= buffer_km <= 500:
        raise ValueError(f"buffer_km must be between 0 and 500, got {buffer_km}")
    if not use_cache:
        return _build(cell_km, buffer_km)
    path = _cache_path(cache_dir, cell_km, buffer_km)
    return load_shared(path, lambda: _build(cell_km, buffer_km))


def _cache_path(cache_dir: Path | None, cell_km: float, buffer_km: float) -> Path:
    root = cache_dir or cache_root()
    digest = hashlib.sha256()
    digest.update(f"{CACHE_FORMAT}|{cell_km!r}|{buffer_km!r}|{data_fingerprint()}".encode())
    for source in (border_mod.__file__, grid_mod.__file__, terrain.__file__, __file__):
        digest.update(Path(source).read_bytes())
    return root / f"world-{cell_km:g}km-{digest.hexdigest()[:16]}.pickle"


def _data_limits_m(grid_probe: GridSpec) -> tuple[float, float, float, float]:
    """The largest projected rectangle inside the lon/lat data window."""
    lon0, lat0, lon1, lat1 = DATA_WINDOW
    t = np.linspace(0.0, 1.0, 200)
    west = grid_probe.project(np.full_like(t, lon0), lat0 + t * (lat1 - lat0))
    east = grid_probe.project(np.full_like(t, lon1), lat0 + t * (lat1 - lat0))
    south = grid_probe.project(lon0 + t * (lon1 - lon0), np.full_like(t, lat0))
    north = grid_probe.project(lon0 + t * (lon1 - lon0), np.full_like(t, lat1))
    return (west[0].max(), south[1].max(), east[0].min(), north[1].min())


def _build(cell_km: float, buffer_km: float) -> World:
    probe = GridSpec(0.0, 0.0, cell_km, 1, 1)
    line_ll = read_border_line()
    line_m = LineString(np.column_stack(probe.project(*np.asarray(line_ll.coords).T)))
    grid = grid_around(line_m.bounds, _data_limits_m(probe), cell_km, buffer_km)

    cx, cy = grid.cell_centres_m()
    lon, lat = grid.to_lonlat.transform(cx, cy)
    country, province, provinces = _political_layers(lon, lat)

    raster = read_elevation()
    elevation = terrain.sample_raster(grid, raster, raster.elevation_m).astype(np.float32)
    tri = terrain.ruggedness_index(raster.elevation_m)
    ruggedness = terrain.sample_raster(grid, raster, tri).astype(np.float32)

    features = read_features()
    roads, road_layer = _place_roads(grid, features["roads"])
    foot = terrain.foot_hours_per_km(ruggedness, elevation).astype(np.float32)
    vehicle = terrain.vehicle_hours_per_km(ruggedness, elevation, road_layer >= 0).astype(
        np.float32
    )

    raster_line = border_mod.rasterise_line(grid, line_m)
    distance, nearest = ndimage.distance_transform_edt(
        ~raster_line.is_border, sampling=cell_km, return_indices=True
    )

    sector_specs = _sector_specs(features, line_m, grid)
    boundaries = border_mod.sector_boundaries_km([s["chainage_km"] for s in sector_specs])
    border_sector = np.full(grid.shape, -1, dtype=np.int8)
    on_border = raster_line.is_border
    border_sector[on_border] = (
        np.searchsorted(boundaries, raster_line.chainage_km[on_border], side="right") - 1
    )
    sector_layer = border_sector[nearest[0], nearest[1]]

    crossings = _place_crossings(grid, features["crossings"], line_m, raster_line, border_sector)
    sectors = tuple(
        Sector(
            id=i,
            name=spec["name"],
            faces_pk=spec["faces_pk"],
            faces_af=spec["faces_af"],
            start_km=float(boundaries[i]),
            end_km=float(min(boundaries[i + 1], line_m.length / 1000.0)),
            length_km=float(raster_line.border_km[border_sector == i].sum()),
            crossings=tuple(c.name for c in crossings if c.sector == i),
        )
        for i, spec in enumerate(sector_specs)
    )
    towns = _place_towns(grid, features["towns"], country, province)
    geod = pyproj.Geod(ellps="WGS84")
    return World(
        grid=grid,
        country=country,
        province=province,
        elevation_m=elevation,
        ruggedness_m=ruggedness,
        foot_hours_per_km=foot,
        vehicle_hours_per_km=vehicle,
        road=road_layer,
        is_border=raster_line.is_border,
        border_km=raster_line.border_km.astype(np.float32),
        chainage_km=raster_line.chainage_km.astype(np.float32),
        distance_to_border_km=distance.astype(np.float32),
        sector=sector_layer,
        lon=lon.astype(np.float32),
        lat=lat.astype(np.float32),
        border_path=raster_line.path_cells,
        border_line_m=np.asarray(line_m.coords),
        border_geodesic_km=float(geod.geometry_length(line_ll)) / 1000.0,
        crossings=crossings,
        towns=towns,
        roads=roads,
        sectors=sectors,
        provinces=provinces,
    )


def _political_layers(
    lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[Province, ...]]:
    countries = read_countries()
    country = np.zeros(lon.shape, dtype=np.int8)
    for code, iso in ((AF, "AFG"), (PK, "PAK")):
        geometry = countries[iso]
        shapely.prepare(geometry)
        country[shapely.contains_xy(geometry, lon, lat)] = code
    province = np.full(lon.shape, -1, dtype=np.int16)
    provinces = []
    for i, piece in enumerate(read_provinces()):
        provinces.append(Province(i, piece.name, "AF" if piece.country == "AFG" else "PK"))
        x0, y0, x1, y1 = piece.geometry.bounds
        window = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        shapely.prepare(piece.geometry)
        inside = shapely.contains_xy(piece.geometry, lon[window], lat[window])
        province.ravel()[np.flatnonzero(window.ravel())[inside]] = i
    return country, province, tuple(provinces)


def _place_roads(grid: GridSpec, specs: list[dict]) -> tuple[tuple[Road, ...], np.ndarray]:
    layer = np.full(grid.shape, -1, dtype=np.int8)
    roads = []
    for i, spec in enumerate(specs):
        lat, lon = np.asarray(spec["waypoints"]).T
        line = LineString(np.column_stack(grid.project(lon, lat)))
        step = grid.cell_m / 4.0
        samples = shapely.line_interpolate_point(
            line, np.linspace(0.0, line.length, int(line.length / step) + 2)
        )
        ix, iy = grid.cell_of_m(*shapely.get_coordinates(samples).T)
        keep = np.flatnonzero(np.diff(ix * grid.height + iy, prepend=-1))
        cells = np.column_stack([ix[keep], iy[keep]])
        layer[cells[:, 0], cells[:, 1]] = i
        roads.append(Road(i, spec["name"], cells))
    return tuple(roads), layer


def _sector_specs(features: dict, line_m: LineString, grid: GridSpec) -> list[dict]:
    """Sector definitions with the chainage of their anchors, sorted along the line."""
    crossings = {c["name"]: c for c in features["crossings"]}
    specs = []
    for sector in features["sectors"]:
        if "anchor" in sector:
            anchor = crossings[sector["anchor"]]
            lat, lon = anchor["lat"], anchor["lon"]
        else:
            lat, lon = sector["anchor_lat"], sector["anchor_lon"]
        x, y = grid.project_point(lon, lat)
        specs.append({**sector, "chainage_km": border_mod.chainage_of_point(line_m, x, y)})
    return sorted(specs, key=lambda s: s["chainage_km"])


def _place_fields(i: int, spec: dict, cell: tuple[int, int]) -> dict[str, Any]:
    """The :class:`Place` fields of gazetteer entry ``i``, put on ``cell``."""
    return {"id": i, "name": spec["name"], "lat": spec["lat"], "lon": spec["lon"], "cell": cell}


def _place_crossings(
    grid: GridSpec,
    specs: list[dict],
    line_m: LineString,
    raster_line: border_mod.BorderRaster,
    border_sector: np.ndarray,
) -> tuple[Crossing, ...]:
    bx, by = np.nonzero(raster_line.is_border)
    centres_x = grid.x0_m + (bx + 0.5) * grid.cell_m
    centres_y = grid.y0_m + (by + 0.5) * grid.cell_m
    crossings = []
    for i, spec in enumerate(specs):
        x, y = grid.project_point(spec["lon"], spec["lat"])
        distance = np.hypot(centres_x - x, centres_y - y)
        k = int(np.argmin(distance))
        cell = (int(bx[k]), int(by[k]))
        crossings.append(
            Crossing(
                **_place_fields(i, spec, cell),
                snap_km=float(distance[k]) / 1000.0,
                uncertainty_km=float(spec["uncertainty_km"]),
                sector=int(border_sector[cell]),
                chainage_km=border_mod.chainage_of_point(line_m, x, y),
                official=bool(spec["official"]),
                note=spec["note"],
            )
        )
    return tuple(crossings)


def _place_towns(
    grid: GridSpec, specs: list[dict], country: np.ndarray, province: np.ndarray
) -> tuple[Town, ...]:
    towns = []
    for i, spec in enumerate(specs):
        if not grid.contains_lonlat(spec["lon"], spec["lat"]):
            continue
        cell = grid.cell_of_lonlat(spec["lon"], spec["lat"])
        towns.append(
            Town(
                **_place_fields(i, spec, cell),
                country=COUNTRIES[int(country[cell])],
                population=int(spec["population"]),
                market=bool(spec["market"]),
                province=int(province[cell]),
            )
        )
    return tuple(towns)
