"""A tiny hand-made World for unit tests of the model's rules (no shipped data is read).

The default world is a 24 x 12 grid of 5 km cells (indexed ``[x, y]``)::

    y=11  A A A A A A A A A A A A | P P P P P P P P P P P     Khyber sector (y >= split)
    y=9   A A A J . . . . . . . . T . . . . . . . P P P P     road row, Torkham gate (12, 9)
    y=2   A A A K . . . . . . . . C . . . . . . . Q P P P     road row, Chaman gate (12, 2)
    y=0   A A A A A A A A A A A A | P P P P P P P P P P P     Chaman sector (y < split)
          x=0                    x=12                   x=23

* Afghanistan (country 1) for ``x < 12``, Pakistan (2) for ``x > 12``; the border is the column
  ``x = 12`` (its cells are counted as Afghan, as the cell centre has to lie somewhere).
* Provinces: every Afghan cell (border column included) is "Nangarhar" (a militant sanctuary),
  every Pakistani cell "Khyber Pakhtunkhwa+Federally Administered Tribal Areas" (a target).
* Towns (all markets): Kandahar (3, 2) and Jalalabad (3, 9) in Afghanistan, Quetta (20, 2) and
  Peshawar (20, 9) in Pakistan. Roads run along the gate rows ``y = 2`` and ``y = 9``.
* Flat ground: 0.2 foot hours/km, 0.07 vehicle hours/km off-road, 0.025 on a road. An optional
  mountain block (a boolean mask or ``(x0, x1, y0, y1)`` half-open boxes) costs much more.

With the defaults the informal crossing points are the border cells ``y = 0, 3, 6, 10`` (the
easiest, then lowest-chainage cell of each half of each sector, gates excluded).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from borderabm.world.grid import GridSpec
from borderabm.world.world import AF, PK, Crossing, Province, Road, Sector, Town, World

WIDTH, HEIGHT, CELL_KM = 24, 12, 5.0
BORDER_X = 12
FLAT_FOOT, FLAT_ROAD, FLAT_OFFROAD = 0.2, 0.025, 0.07
MOUNTAIN_FOOT, MOUNTAIN_VEHICLE = 5.0, 1.0
FLAT_M, MOUNTAIN_M = 1000.0, 4000.0
KP = "Khyber Pakhtunkhwa+Federally Administered Tribal Areas"

Box = tuple[int, int, int, int]


def tiny_world(
    *,
    sector_split: int = 6,
    mountains: Iterable[Box] | np.ndarray = (),
    border_foot: dict[int, float] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    cell_km: float = CELL_KM,
) -> World:
    """A hand-made two-sector world (see the module docstring).

    Args:
        sector_split: First ``y`` of the Khyber sector (Chaman below it).
        mountains: Mountain cells: a boolean ``[x, y]`` mask, or half-open boxes
            ``(x0, x1, y0, y1)``.
        border_foot: Foot hours/km of chosen border cells by ``y`` (e.g. a hilly stretch).
        width, height, cell_km: Grid size (the border stays at ``x = 12``).
    """
    grid = GridSpec(x0_m=-60_000.0, y0_m=-30_000.0, cell_km=cell_km, width=width, height=height)
    shape = grid.shape
    xs, ys = np.indices(shape)
    is_border = xs == BORDER_X
    country = np.where(xs <= BORDER_X, AF, PK).astype(np.int8)
    provinces = (Province(0, "Nangarhar", "AF"), Province(1, KP, "PK"))
    province = np.where(country == AF, 0, 1).astype(np.int16)

    mountain = np.zeros(shape, dtype=bool)
    if isinstance(mountains, np.ndarray):
        mountain |= mountains.astype(bool)
    else:
        for x0, x1, y0, y1 in mountains:
            mountain[x0:x1, y0:y1] = True

    road_rows = {0: ("Kandahar-Chaman-Quetta", 2), 1: ("Jalalabad-Torkham-Peshawar", 9)}
    road = np.full(shape, -1, dtype=np.int8)
    roads = []
    for road_id, (name, row) in road_rows.items():
        road[:, row] = road_id
        cells = np.column_stack([np.arange(width), np.full(width, row)])
        roads.append(Road(road_id, name, cells))

    elevation = np.where(mountain, MOUNTAIN_M, FLAT_M).astype(np.float32)
    ruggedness = np.where(mountain, 400.0, 0.0).astype(np.float32)
    foot = np.where(mountain, MOUNTAIN_FOOT, FLAT_FOOT).astype(np.float32)
    for y, hours in (border_foot or {}).items():
        foot[BORDER_X, y] = hours
    vehicle = np.where(road >= 0, FLAT_ROAD, FLAT_OFFROAD)
    vehicle = np.where(mountain & (road < 0), MOUNTAIN_VEHICLE, vehicle).astype(np.float32)

    border_km = np.where(is_border, cell_km, 0.0).astype(np.float32)
    chainage = np.where(is_border, (ys + 0.5) * cell_km, np.nan).astype(np.float32)
    distance = (np.abs(xs - BORDER_X) * cell_km).astype(np.float32)
    sector = np.where(ys < sector_split, 0, 1).astype(np.int8)

    cx, cy = grid.cell_centres_m()
    lon, lat = grid.to_lonlat.transform(cx, cy)
    border_path = np.column_stack([np.full(height, BORDER_X), np.arange(height)])
    line_x = grid.x0_m + (BORDER_X + 0.5) * grid.cell_m
    border_line_m = np.array([[line_x, grid.y0_m], [line_x, grid.y0_m + height * grid.cell_m]])

    def lonlat(cell: tuple[int, int]) -> tuple[float, float]:
        return float(lon[cell]), float(lat[cell])

    gate_specs = (("Chaman", (BORDER_X, 2)), ("Torkham", (BORDER_X, 9)))
    crossings = []
    for i, (name, cell) in enumerate(gate_specs):
        c_lon, c_lat = lonlat(cell)
        crossings.append(
            Crossing(
                id=i,
                name=name,
                lat=c_lat,
                lon=c_lon,
                cell=cell,
                snap_km=0.0,
                uncertainty_km=1.0,
                sector=int(sector[cell]),
                chainage_km=float(chainage[cell]),
                official=True,
                note="tiny world",
            )
        )
    town_specs = (
        ("Kandahar", (3, 2), 523_300),
        ("Jalalabad", (3, 9), 271_900),
        ("Quetta", (20, 2), 1_565_546),
        ("Peshawar", (20, 9), 4_758_762),
    )
    towns = []
    for i, (name, cell, population) in enumerate(town_specs):
        t_lon, t_lat = lonlat(cell)
        towns.append(
            Town(
                id=i,
                name=name,
                lat=t_lat,
                lon=t_lon,
                cell=cell,
                country="AF" if country[cell] == AF else "PK",
                population=population,
                market=True,
                province=int(province[cell]),
            )
        )
    length = height * cell_km
    split_km = sector_split * cell_km
    sector_specs = (
        ("Chaman", "Killa Abdullah (Balochistan)", "Kandahar", 0.0, split_km),
        ("Khyber", "Khyber (KP)", "Nangarhar", split_km, length),
    )
    sectors = tuple(
        Sector(
            id=i,
            name=name,
            faces_pk=faces_pk,
            faces_af=faces_af,
            start_km=start,
            end_km=end,
            length_km=float(border_km[sector == i].sum()),
            crossings=tuple(c.name for c in crossings if c.sector == i),
        )
        for i, (name, faces_pk, faces_af, start, end) in enumerate(sector_specs)
    )
    return World(
        grid=grid,
        country=country,
        province=province,
        elevation_m=elevation,
        ruggedness_m=ruggedness,
        foot_hours_per_km=foot,
        vehicle_hours_per_km=vehicle,
        road=road,
        is_border=is_border,
        border_km=border_km,
        chainage_km=chainage,
        distance_to_border_km=distance,
        sector=sector,
        lon=lon.astype(np.float32),
        lat=lat.astype(np.float32),
        border_path=border_path,
        border_line_m=border_line_m,
        border_geodesic_km=float(length),
        crossings=tuple(crossings),
        towns=tuple(towns),
        roads=tuple(roads),
        sectors=sectors,
        provinces=provinces,
    )


def flat(world: World, x: int, y: int) -> int:
    """Flat index of cell ``(x, y)``."""
    return int(np.ravel_multi_index((x, y), world.grid.shape))
