"""The projected grid: square cells of equal size (km) over the border belt.

Arrays are indexed ``[x, y]`` like Mesa's ``PropertyLayer``: ``x`` grows east, ``y`` north.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyproj

# Lambert conformal conic with standard parallels bracketing the belt (29.3-37.1N): scale error
# stays under ~0.6% across the grid, so a cell is the same size on the ground everywhere.
PROJECTION = "+proj=lcc +lat_1=30 +lat_2=36 +lat_0=33 +lon_0=67.7 +datum=WGS84 +units=m +no_defs"


@dataclass(frozen=True)
class GridSpec:
    """Where the grid lies in the projected plane and how fine it is."""

    x0_m: float  # west edge
    y0_m: float  # south edge
    cell_km: float
    width: int  # cells along x
    height: int  # cells along y

    @property
    def cell_m(self) -> float:
        """Cell side in metres."""
        return self.cell_km * 1000.0

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape of one layer, ``(width, height)``."""
        return (self.width, self.height)

    @cached_property
    def to_lonlat(self) -> pyproj.Transformer:
        """Transformer from grid metres to lon/lat degrees."""
        return pyproj.Transformer.from_crs(PROJECTION, "EPSG:4326", always_xy=True)

    @cached_property
    def from_lonlat(self) -> pyproj.Transformer:
        """Transformer from lon/lat degrees to grid metres."""
        return pyproj.Transformer.from_crs("EPSG:4326", PROJECTION, always_xy=True)

    def cell_centres_m(self) -> tuple[np.ndarray, np.ndarray]:
        """Projected x, y (metres) of every cell centre, each of shape ``(width, height)``."""
        xs = self.x0_m + (np.arange(self.width) + 0.5) * self.cell_m
        ys = self.y0_m + (np.arange(self.height) + 0.5) * self.cell_m
        return np.meshgrid(xs, ys, indexing="ij")

    def centre_m(self, ix: int, iy: int) -> tuple[float, float]:
        """Projected x, y (metres) of one cell's centre."""
        return self.x0_m + (ix + 0.5) * self.cell_m, self.y0_m + (iy + 0.5) * self.cell_m

    def cell_of_m(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell indices (clipped to the grid) of projected points."""
        ix = np.floor((np.asarray(x_m) - self.x0_m) / self.cell_m).astype(np.int64)
        iy = np.floor((np.asarray(y_m) - self.y0_m) / self.cell_m).astype(np.int64)
        return np.clip(ix, 0, self.width - 1), np.clip(iy, 0, self.height - 1)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat degrees to projected metres."""
        return self.from_lonlat.transform(np.asarray(lon), np.asarray(lat))

    def project_point(self, lon: float, lat: float) -> tuple[float, float]:
        """One lon/lat point to projected metres."""
        x, y = self.project(np.asarray(lon), np.asarray(lat))
        return float(x), float(y)

    def cell_of_lonlat(self, lon: float, lat: float) -> tuple[int, int]:
        """The cell containing a lon/lat point."""
        x, y = self.project(np.asarray(lon), np.asarray(lat))
        ix, iy = self.cell_of_m(x, y)
        return int(ix), int(iy)

    def contains_lonlat(self, lon: float, lat: float) -> bool:
        """Whether a lon/lat point falls inside the grid."""
        x, y = self.project_point(lon, lat)
        return bool(
            0 <= x - self.x0_m < self.width * self.cell_m
            and 0 <= y - self.y0_m < self.height * self.cell_m
        )


def grid_around(
    bounds_m: tuple[float, float, float, float],
    limits_m: tuple[float, float, float, float],
    cell_km: float,
    buffer_km: float,
) -> GridSpec:
    """A grid covering ``bounds_m`` plus ``buffer_km``, trimmed to ``limits_m``.

    Args:
        bounds_m: (xmin, ymin, xmax, ymax) of what must be covered (the border line), metres.
        limits_m: (xmin, ymin, xmax, ymax) beyond which there is no data, metres.
        cell_km: Cell side in km.
        buffer_km: Margin around ``bounds_m`` in km.
    """
    buffer_m = buffer_km * 1000.0
    xmin = max(bounds_m[0] - buffer_m, limits_m[0])
    ymin = max(bounds_m[1] - buffer_m, limits_m[1])
    xmax = min(bounds_m[2] + buffer_m, limits_m[2])
    ymax = min(bounds_m[3] + buffer_m, limits_m[3])
    cell_m = cell_km * 1000.0
    width = int(np.ceil((xmax - xmin) / cell_m))
    height = int(np.ceil((ymax - ymin) / cell_m))
    return GridSpec(x0_m=float(xmin), y0_m=float(ymin), cell_km=cell_km, width=width, height=height)
