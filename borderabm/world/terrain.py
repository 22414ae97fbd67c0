"""Terrain layers: elevation, ruggedness and the movement cost of crossing a cell.

Costs are in hours per km so that they do not depend on the cell size; ``inf`` means impassable.
The speeds below are assumptions (named, with their reasoning) except Tobler's hiking function.
"""

from __future__ import annotations

import numpy as np

from borderabm.world.grid import GridSpec
from borderabm.world.sources import ElevationRaster

# Tobler (1993) hiking function: walking speed (km/h) = 6 exp(-3.5 |slope + 0.05|).
TOBLER_MAX_KMH = 6.0
# Assumption: above 3,000 m walking slows (thin air, snow) to a quarter of its speed at 5,500 m,
# and permanent ice above 6,000 m (Hindu Kush summits) is impassable on foot.
ALTITUDE_SLOWDOWN_START_M = 3000.0
ALTITUDE_SLOWDOWN_FULL_M = 5500.0
ALTITUDE_SLOWDOWN_FACTOR = 0.25
FOOT_IMPASSABLE_M = 6000.0
# Assumption: loaded trucks average 40 km/h on the corridor roads (mountain roads, checkpoints);
# off-road a vehicle manages 15 km/h on flat ground, slowing linearly to nothing at a mean slope of
# 0.25 and impassable above 4,500 m.
ROAD_KMH = 40.0
OFFROAD_FLAT_KMH = 15.0
OFFROAD_MAX_SLOPE = 0.25
VEHICLE_IMPASSABLE_M = 4500.0
# Sub-samples per cell side are capped so that a 20 km grid still builds quickly.
MAX_SAMPLES_PER_SIDE = 10


def ruggedness_index(elevation_m: np.ndarray) -> np.ndarray:
    """Riley's terrain ruggedness index: mean |elevation difference| to the 8 neighbours (m)."""
    padded = np.pad(elevation_m.astype(np.float32), 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    total = np.zeros_like(centre)
    rows, cols = centre.shape
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                total += np.abs(padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols] - centre)
    return total / 8.0


def sample_raster(grid: GridSpec, raster: ElevationRaster, values: np.ndarray) -> np.ndarray:
    """Mean of a lon/lat raster over each grid cell.

    Each cell is sampled on a regular k x k pattern (k ~ cell size in raster cells, capped), points
    outside the raster take the nearest edge value.

    Returns:
        An array of shape ``grid.shape``.
    """
    raster_km = raster.cell_deg * 111.0
    per_side = int(np.clip(round(grid.cell_km / raster_km), 1, MAX_SAMPLES_PER_SIDE))
    offsets = (np.arange(per_side) + 0.5) / per_side * grid.cell_m
    fine_x = grid.x0_m + (np.arange(grid.width)[:, None] * grid.cell_m + offsets).ravel()
    fine_y = grid.y0_m + (np.arange(grid.height)[:, None] * grid.cell_m + offsets).ravel()
    xx, yy = np.meshgrid(fine_x, fine_y, indexing="ij")
    lon, lat = grid.to_lonlat.transform(xx, yy)
    rows = np.clip(
        ((raster.lat_top - lat) / raster.cell_deg).astype(np.int64), 0, values.shape[0] - 1
    )
    cols = np.clip(
        ((lon - raster.lon_left) / raster.cell_deg).astype(np.int64), 0, values.shape[1] - 1
    )
    samples = values[rows, cols].reshape(grid.width, per_side, grid.height, per_side)
    return samples.mean(axis=(1, 3))


def foot_hours_per_km(ruggedness_m: np.ndarray, elevation_m: np.ndarray) -> np.ndarray:
    """Walking time per km: Tobler's function on the mean slope, slowed by altitude."""
    slope = ruggedness_m / 1000.0  # TRI over ~1 km pixels approximates the mean gradient
    speed = TOBLER_MAX_KMH * np.exp(-3.5 * np.abs(slope + 0.05))
    altitude_share = np.clip(
        (elevation_m - ALTITUDE_SLOWDOWN_START_M)
        / (ALTITUDE_SLOWDOWN_FULL_M - ALTITUDE_SLOWDOWN_START_M),
        0.0,
        1.0,
    )
    speed = speed * (1.0 - altitude_share * (1.0 - ALTITUDE_SLOWDOWN_FACTOR))
    hours = 1.0 / speed
    return np.where(elevation_m > FOOT_IMPASSABLE_M, np.inf, hours)


def vehicle_hours_per_km(
    ruggedness_m: np.ndarray, elevation_m: np.ndarray, on_road: np.ndarray
) -> np.ndarray:
    """Driving time per km: fast on corridor roads, slow off-road, impassable in high mountains."""
    slope = ruggedness_m / 1000.0
    offroad_speed = OFFROAD_FLAT_KMH * np.clip(1.0 - slope / OFFROAD_MAX_SLOPE, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        offroad = np.where(
            (offroad_speed > 0) & (elevation_m <= VEHICLE_IMPASSABLE_M), 1.0 / offroad_speed, np.inf
        )
    return np.where(on_road, 1.0 / ROAD_KMH, offroad)
