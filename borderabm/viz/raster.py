"""Fast map frames drawn from arrays: the terrain image once, gates and the border painted per frame."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from borderabm.geography import World
from borderabm.geography.cache import derived
from borderabm.policies import PolicyState
from borderabm.viz.worldmap import terrain_rgb

PIXELS_PER_CELL = 3
BORDER_RGB = np.array([40, 40, 40], dtype=np.uint8)
GATE_RGB = {
    "open": np.array([26, 152, 80], dtype=np.uint8),
    "closed": np.array([215, 25, 28], dtype=np.uint8),
    "corridor": np.array([44, 123, 182], dtype=np.uint8),
}
GATE_HALF_SIZE = 2  # cells around the gate's cell painted in its colour
FENCE_RGB = np.array([90, 50, 20], dtype=np.uint8)


def _base_frame(world: World) -> np.ndarray:
    """Terrain and border, drawn once per world and kept (read-only) for as long as it lives."""

    def draw() -> np.ndarray:
        rgb = (terrain_rgb(world) * 255).astype(np.uint8)
        rgb[world.is_border.T[::-1]] = BORDER_RGB
        return rgb

    return derived(world, "map base frame", draw)


def gate_status(policy: PolicyState, gate: str) -> str:
    """'corridor', 'open' or 'closed' for the map legend."""
    if policy.is_corridor(gate):
        return "corridor"
    return "open" if policy.gate_open(gate) else "closed"


def frame_rgb(world: World, policy: PolicyState, *, fence: bool = False) -> np.ndarray:
    """The current map as an RGB array ``[row, col, 3]`` (row 0 = north), gates coloured by status.

    With ``fence``, border cells are shaded by how much of their sector is fenced and intact.
    """
    rgb = _base_frame(world).copy()
    height = world.grid.height
    if fence:
        bx, by = np.nonzero(world.is_border)
        strength = (policy.fence_coverage * policy.fence_integrity)[world.sector[bx, by]]
        shade = strength[:, None] * FENCE_RGB + (1 - strength[:, None]) * 200
        rgb[height - 1 - by, bx] = shade.astype(np.uint8)
    for crossing in world.crossings:
        x, y = crossing.cell
        row = height - 1 - y
        rgb[
            max(row - GATE_HALF_SIZE, 0) : row + GATE_HALF_SIZE + 1,
            max(x - GATE_HALF_SIZE, 0) : x + GATE_HALF_SIZE + 1,
        ] = GATE_RGB[gate_status(policy, crossing.name)]
    return np.repeat(np.repeat(rgb, PIXELS_PER_CELL, axis=0), PIXELS_PER_CELL, axis=1)


def frame_png(world: World, policy: PolicyState) -> bytes:
    """The current map as PNG bytes."""
    return _png(frame_rgb(world, policy))


KIND_RGB = {
    "trader": np.array([31, 119, 180], dtype=np.uint8),
    "refugee": np.array([148, 103, 189], dtype=np.uint8),
    "militant": np.array([20, 20, 20], dtype=np.uint8),
    "patrol": np.array([255, 127, 14], dtype=np.uint8),
}
ATTACK_RGB = np.array([255, 0, 0], dtype=np.uint8)
INTERDICTION_RGB = np.array([255, 215, 0], dtype=np.uint8)


DRAW_ORDER = ("refugee", "trader", "patrol", "militant")
EVENT_RING_CELLS = 3  # half-size of the square drawn around the day's events


def overlay_rgba(model) -> np.ndarray:
    """What changes from day to day, one pixel per cell, transparent elsewhere: ``[row, col, 4]``.

    The fence shaded by integrity, gates by status, agents as dots coloured by kind, and squares
    around today's interdictions (yellow) and attacks (red). The browser scales it over the terrain.

    Args:
        model: A ``BorderModel``.
    """
    world, policy = model.world, model.policy
    width, height = world.grid.width, world.grid.height
    image = np.zeros((height, width, 4), dtype=np.uint8)
    opaque = np.uint8(255)

    bx, by = np.nonzero(world.is_border)
    strength = (policy.fence_coverage * policy.fence_integrity)[world.sector[bx, by]]
    shade = strength[:, None] * FENCE_RGB + (1 - strength[:, None]) * 200
    image[height - 1 - by, bx, :3] = shade.astype(np.uint8)
    image[height - 1 - by, bx, 3] = opaque

    # Militants last, so that no other kind hides them.
    for population in sorted(model.populations, key=lambda p: DRAW_ORDER.index(p.kind)):
        cells = population.flat_cells(model)
        if population.kind == "refugee":
            cells = cells[population.state != 6]  # the dead are not drawn
        x, y = np.unravel_index(np.unique(cells), world.grid.shape)
        image[height - 1 - y, x, :3] = KIND_RGB[population.kind]
        image[height - 1 - y, x, 3] = opaque

    for crossing in world.crossings:
        x, y = crossing.cell
        row = height - 1 - y
        block = (slice(max(row - GATE_HALF_SIZE, 0), row + GATE_HALF_SIZE + 1),
                 slice(max(x - GATE_HALF_SIZE, 0), x + GATE_HALF_SIZE + 1))  # fmt: skip
        image[block + (slice(0, 3),)] = GATE_RGB[gate_status(policy, crossing.name)]
        image[block + (3,)] = opaque

    stopped = model.points.cells[model.points.interdictions > 0]
    attacked = model.metrics.by[("attacks", "town")]
    struck = np.array([t.cell for t, n in zip(world.towns, attacked, strict=True) if n > 0])
    ring = EVENT_RING_CELLS
    for cells_xy, colour in ((stopped, INTERDICTION_RGB), (struck, ATTACK_RGB)):
        for x, y in np.asarray(cells_xy, dtype=int).reshape(-1, 2):
            row = height - 1 - y
            top, bottom = max(row - ring, 0), min(row + ring, height - 1)
            left, right = max(x - ring, 0), min(x + ring, width - 1)
            for edge in (
                (slice(top, bottom + 1), left), (slice(top, bottom + 1), right),
                (top, slice(left, right + 1)), (bottom, slice(left, right + 1)),
            ):  # fmt: skip
                image[edge + (slice(0, 3),)] = colour
                image[edge + (3,)] = opaque
    return image


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def overlay_png(model) -> bytes:
    """The day's overlay as a small PNG (a few KB: most of it is transparent)."""
    return _png(overlay_rgba(model))


def terrain_png(world: World) -> bytes:
    """Terrain shading and the border line, drawn once and sent to the browser once."""
    base = _base_frame(world)
    return _png(np.repeat(np.repeat(base, PIXELS_PER_CELL, axis=0), PIXELS_PER_CELL, axis=1))


def map_labels(world: World) -> dict[str, list]:
    """Towns, sector names and the points where one sector meets the next, as (name, col, row)."""
    height = world.grid.height
    towns = [[t.name, t.cell[0], height - 1 - t.cell[1]] for t in world.towns]
    path = world.border_path
    path_sector = world.sector[path[:, 0], path[:, 1]]
    sectors, marks = [], []
    for sector in world.sectors:
        along = np.flatnonzero(path_sector == sector.id)
        if len(along):
            x, y = path[along[len(along) // 2]]
            sectors.append([sector.name, int(x), int(height - 1 - y)])
    for index in np.flatnonzero(np.diff(path_sector) != 0) + 1:
        x, y = path[index]
        marks.append([world.sectors[path_sector[index]].name, int(x), int(height - 1 - y)])
    return {"towns": towns, "sectors": sectors, "sector_marks": marks}


def model_frame_rgb(model) -> np.ndarray:
    """The map of a running model as one RGB image (terrain under the overlay), for export.

    Args:
        model: A ``BorderModel``.
    """
    frame = np.repeat(np.repeat(_base_frame(model.world), PIXELS_PER_CELL, 0), PIXELS_PER_CELL, 1)
    overlay = np.repeat(np.repeat(overlay_rgba(model), PIXELS_PER_CELL, 0), PIXELS_PER_CELL, 1)
    drawn = overlay[..., 3] > 0
    frame[drawn] = overlay[drawn][:, :3]
    return frame


def model_frame_png(model) -> bytes:
    """The map of a running model as PNG bytes."""
    return _png(model_frame_rgb(model))
