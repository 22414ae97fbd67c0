"""The border on the grid: which cells the Durand Line crosses, how much of it, and its sectors.

The line is walked in short steps from the Iran tripoint; each step's length is credited to the cell
it falls in, so ``border_km`` sums to the line's length and every border cell knows its chainage
(km from the Iran tripoint). Diagonal gaps between consecutive cells are closed so that no
8-neighbour move can pass from one country to the other without entering a border cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from borderabm.world.grid import GridSpec

STEPS_PER_CELL = 20


@dataclass(frozen=True)
class BorderRaster:
    """The rasterised border line."""

    border_km: np.ndarray  # float [x, y]: length of line inside each cell
    is_border: np.ndarray  # bool [x, y]
    chainage_km: np.ndarray  # float [x, y]: mean along-line distance of the cell (nan off-border)
    path_cells: np.ndarray  # int [n, 2]: the border cells in the order the line visits them


def rasterise_line(grid: GridSpec, line_m: LineString) -> BorderRaster:
    """Credit a projected line to the grid cells it passes through."""
    step_m = grid.cell_m / STEPS_PER_CELL
    n_steps = max(int(np.ceil(line_m.length / step_m)), 1)
    distances = np.linspace(0.0, line_m.length, n_steps + 1)
    points = shapely.get_coordinates(shapely.line_interpolate_point(line_m, distances))
    midpoints = 0.5 * (points[1:] + points[:-1])
    seg_len_km = np.hypot(*(points[1:] - points[:-1]).T) / 1000.0
    mid_chainage_km = 0.5 * (distances[1:] + distances[:-1]) / 1000.0
    ix, iy = grid.cell_of_m(midpoints[:, 0], midpoints[:, 1])

    flat = np.ravel_multi_index((ix, iy), grid.shape)
    size = grid.width * grid.height
    border_km = np.bincount(flat, weights=seg_len_km, minlength=size)
    chain_sum = np.bincount(flat, weights=mid_chainage_km * seg_len_km, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        chainage = np.where(border_km > 0, chain_sum / border_km, np.nan)

    visits = np.flatnonzero(np.diff(flat, prepend=-1))
    path = np.column_stack([ix[visits], iy[visits]])
    is_border = (border_km > 0).reshape(grid.shape)
    chainage = chainage.reshape(grid.shape)
    _close_diagonal_gaps(path, midpoints[visits], is_border, chainage, grid)
    return BorderRaster(
        border_km=border_km.reshape(grid.shape),
        is_border=is_border,
        chainage_km=chainage,
        path_cells=path,
    )


def _close_diagonal_gaps(
    path: np.ndarray,
    entry_points_m: np.ndarray,
    is_border: np.ndarray,
    chainage: np.ndarray,
    grid: GridSpec,
) -> None:
    """Where the line jumps diagonally between cells, mark a shared side neighbour as border too."""
    steps = np.abs(np.diff(path, axis=0))
    for k in np.flatnonzero((steps[:, 0] == 1) & (steps[:, 1] == 1)):
        (ax, ay), (bx, by) = path[k], path[k + 1]
        if is_border[ax, by] or is_border[bx, ay]:
            continue
        # Pick the side cell whose centre lies nearer the crossing point of the corner.
        corner = entry_points_m[k + 1]
        first, second = (ax, by), (bx, ay)
        d_first = np.hypot(*np.subtract(grid.centre_m(*first), corner))
        d_second = np.hypot(*np.subtract(grid.centre_m(*second), corner))
        cx, cy = first if d_first <= d_second else second
        is_border[cx, cy] = True
        chainage[cx, cy] = 0.5 * (chainage[ax, ay] + chainage[bx, by])


def path_length_km(path: np.ndarray, cell_km: float) -> float:
    """Length of the staircase through border-cell centres, in the order the line visits them."""
    steps = np.diff(path, axis=0)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum() * cell_km)


def chainage_of_point(line_m: LineString, x_m: float, y_m: float) -> float:
    """Along-line distance (km) of the point of the line nearest to (x, y)."""
    return line_m.project(Point(x_m, y_m)) / 1000.0


def sector_boundaries_km(anchor_chainages_km: list[float]) -> np.ndarray:
    """Boundaries halfway between consecutive (sorted) anchors, with 0 and inf at the ends."""
    anchors = np.sort(np.asarray(anchor_chainages_km, dtype=float))
    inner = 0.5 * (anchors[1:] + anchors[:-1])
    return np.concatenate([[0.0], inner, [np.inf]])
