"""Fast map frames drawn from arrays: the terrain image once, gates and the border painted per frame."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from borderabm.geography import World
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


_base_frames: dict[int, tuple[World, np.ndarray]] = {}


def _base_frame(world: World) -> np.ndarray:
    """Terrain and border, drawn once per world (Worlds hold arrays, so they are not hashable)."""
    cached = _base_frames.get(id(world))
    if cached is None or cached[0] is not world:
        rgb = (terrain_rgb(world) * 255).astype(np.uint8)
        rgb[world.is_border.T[::-1]] = BORDER_RGB
        if len(_base_frames) > 4:
            _base_frames.clear()
        cached = _base_frames[id(world)] = (world, rgb)
    return cached[1]


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
    buffer = io.BytesIO()
    Image.fromarray(frame_rgb(world, policy)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


KIND_RGB = {
    "trader": np.array([31, 119, 180], dtype=np.uint8),
    "refugee": np.array([148, 103, 189], dtype=np.uint8),
    "militant": np.array([20, 20, 20], dtype=np.uint8),
    "patrol": np.array([255, 127, 14], dtype=np.uint8),
}
ATTACK_RGB = np.array([255, 0, 0], dtype=np.uint8)
INTERDICTION_RGB = np.array([255, 215, 0], dtype=np.uint8)


def model_frame_rgb(model) -> np.ndarray:
    """The map of a running model: fence by integrity, gates, agents as dots, today's events.

    Args:
        model: A ``BorderModel``.
    """
    world, policy = model.world, model.policy
    frame = frame_rgb(world, policy, fence=True)
    height, scale = world.grid.height, PIXELS_PER_CELL

    def pixel(cells_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (height - 1 - cells_xy[:, 1]) * scale + scale // 2, cells_xy[
            :, 0
        ] * scale + scale // 2

    for population in model.populations:
        cells = population.flat_cells(model)
        if population.kind == "refugee":
            cells = cells[population.state != 6]  # the dead are not drawn
        xy = np.column_stack(np.unravel_index(cells, world.grid.shape))
        rows, cols = pixel(xy)
        for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):  # 2 x 2 pixel dots
            frame[rows + dr, cols + dc] = KIND_RGB[population.kind]

    # Events of the day flash: yellow where patrols stopped someone, red where an attack struck.
    stopped = model.points.cells[model.points.interdictions > 0]
    towns = [t.cell for t in world.towns]
    struck = np.array(
        [towns[i] for i, n in enumerate(model.metrics.by[("attacks", "town")]) if n > 0]
    )
    for cells_xy, colour in ((stopped, INTERDICTION_RGB), (struck, ATTACK_RGB)):
        if len(cells_xy):
            rows, cols = pixel(np.asarray(cells_xy).reshape(-1, 2))
            for dr in range(-3, 4):
                for dc in (-3, 3):
                    frame[np.clip(rows + dr, 0, frame.shape[0] - 1),
                          np.clip(cols + dc, 0, frame.shape[1] - 1)] = colour  # fmt: skip
                    frame[np.clip(rows + dc, 0, frame.shape[0] - 1),
                          np.clip(cols + dr, 0, frame.shape[1] - 1)] = colour  # fmt: skip
    return frame


def model_frame_png(model) -> bytes:
    """The map of a running model as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(model_frame_rgb(model)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
