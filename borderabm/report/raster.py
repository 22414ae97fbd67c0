"""Fast map frames drawn from arrays: the terrain image once, gates and the border painted per frame."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from borderabm.metrics import Dim, MetricName
from borderabm.report.worldmap import terrain_rgb
from borderabm.rules.policy import PolicyState
from borderabm.world import World
from borderabm.world.cache import derived

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
    "gate_traveller": np.array([44, 160, 44], dtype=np.uint8),
}
ATTACK_RGB = np.array([255, 0, 0], dtype=np.uint8)
INTERDICTION_RGB = np.array([255, 215, 0], dtype=np.uint8)


DRAW_ORDER = ("gate_traveller", "refugee", "trader", "patrol", "militant")
EVENT_RING_CELLS = 3  # half-size of the square drawn around the day's events


# The overlay is a palette image: few colours (the sectors' fence shades, the kinds, the gate
# statuses, the events), so the server writes one byte per cell and the PNG encodes ~4x faster.
TRANSPARENT = 0
KIND_CODE = {kind: 1 + i for i, kind in enumerate(DRAW_ORDER)}
GATE_CODE = {status: 1 + len(DRAW_ORDER) + i for i, status in enumerate(GATE_RGB)}
INTERDICTION_CODE = 1 + len(DRAW_ORDER) + len(GATE_RGB)
ATTACK_CODE = INTERDICTION_CODE + 1
FIRST_FENCE_CODE = ATTACK_CODE + 1  # then one shade per sector


def _fixed_palette() -> np.ndarray:
    palette = np.zeros((FIRST_FENCE_CODE, 4), dtype=np.uint8)
    for kind, code in KIND_CODE.items():
        palette[code] = (*KIND_RGB[kind], 255)
    for status, code in GATE_CODE.items():
        palette[code] = (*GATE_RGB[status], 255)
    palette[INTERDICTION_CODE] = (*INTERDICTION_RGB, 255)
    palette[ATTACK_CODE] = (*ATTACK_RGB, 255)
    return palette


FIXED_PALETTE = _fixed_palette()


def _overlay_geometry(world: World) -> dict[str, np.ndarray]:
    """Where each cell, border cell and gate square falls in the overlay (row 0 = north), per world."""

    def compute() -> dict[str, np.ndarray]:
        width, height = world.grid.width, world.grid.height
        x, y = np.unravel_index(np.arange(width * height), world.grid.shape)
        pixel_of_cell = (height - 1 - y) * width + x
        bx, by = np.nonzero(world.is_border)
        gate_blocks = []
        for crossing in world.crossings:
            gx, gy = crossing.cell
            row = height - 1 - gy
            rows = np.arange(max(row - GATE_HALF_SIZE, 0), min(row + GATE_HALF_SIZE + 1, height))
            cols = np.arange(max(gx - GATE_HALF_SIZE, 0), min(gx + GATE_HALF_SIZE + 1, width))
            gate_blocks.append((rows[:, None] * width + cols[None, :]).ravel())
        return {
            "pixel_of_cell": pixel_of_cell,
            "border_pixels": (height - 1 - by) * width + bx,
            "border_sector": world.sector[bx, by].astype(np.int64),
            "gate_blocks": tuple(gate_blocks),
        }

    return derived(world, "overlay geometry", compute)


def overlay_indexed(model) -> tuple[np.ndarray, np.ndarray]:
    """The day's overlay as palette codes ``[row, col]`` (uint8) and its palette ``[code, RGBA]``.

    The fence shaded by integrity, gates by status, agents as dots coloured by kind, and squares
    around today's interdictions (yellow) and attacks (red); code 0 is transparent.

    Args:
        model: A ``BorderModel``.
    """
    world, policy = model.world, model.policy
    width, height = world.grid.width, world.grid.height
    geometry = _overlay_geometry(world)
    codes = np.zeros(height * width, dtype=np.uint8)

    # One fence shade per sector: every border cell of a sector has the same strength.
    strength = policy.fence_coverage * policy.fence_integrity
    shade = strength[:, None] * FENCE_RGB + (1 - strength[:, None]) * 200
    palette = np.zeros((FIRST_FENCE_CODE + len(strength), 4), dtype=np.uint8)
    palette[:FIRST_FENCE_CODE] = FIXED_PALETTE
    palette[FIRST_FENCE_CODE:, :3] = shade.astype(np.uint8)
    palette[FIRST_FENCE_CODE:, 3] = 255
    codes[geometry["border_pixels"]] = FIRST_FENCE_CODE + geometry["border_sector"]

    # Militants last, so that no other kind hides them.
    pixel_of_cell = geometry["pixel_of_cell"]
    for population in sorted(model.populations, key=lambda p: DRAW_ORDER.index(p.kind)):
        cells = population.flat_cells(model)[population.living()]  # the dead are not drawn
        codes[pixel_of_cell[cells]] = KIND_CODE[population.kind]

    for crossing, block in zip(world.crossings, geometry["gate_blocks"], strict=True):
        codes[block] = GATE_CODE[gate_status(policy, crossing.name)]

    image = codes.reshape(height, width)
    stopped = model.points.cells[model.points.interdictions > 0]
    attacked = model.metrics.by[(MetricName.ATTACKS, Dim.TOWN)]
    struck = np.array([t.cell for t, n in zip(world.towns, attacked, strict=True) if n > 0])
    ring = EVENT_RING_CELLS
    for cells_xy, code in ((stopped, INTERDICTION_CODE), (struck, ATTACK_CODE)):
        for x, y in np.asarray(cells_xy, dtype=int).reshape(-1, 2):
            row = height - 1 - y
            top, bottom = max(row - ring, 0), min(row + ring, height - 1)
            left, right = max(x - ring, 0), min(x + ring, width - 1)
            image[top : bottom + 1, left] = code
            image[top : bottom + 1, right] = code
            image[top, left : right + 1] = code
            image[bottom, left : right + 1] = code
    return image, palette


def overlay_rgba(model) -> np.ndarray:
    """What changes from day to day, one pixel per cell, transparent elsewhere: ``[row, col, 4]``.

    The colours of ``overlay_indexed``; the browser scales the overlay over the terrain.

    Args:
        model: A ``BorderModel``.
    """
    codes, palette = overlay_indexed(model)
    return palette[codes]


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def overlay_png(model) -> bytes:
    """The day's overlay as a small palette PNG (a few KB: most of it is transparent)."""
    codes, palette = overlay_indexed(model)
    image = Image.frombytes("P", (codes.shape[1], codes.shape[0]), codes.tobytes())
    image.putpalette(palette[:, :3].tobytes(), rawmode="RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1, transparency=palette[:, 3].tobytes())
    return buffer.getvalue()


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
