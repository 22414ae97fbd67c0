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


def frame_rgb(world: World, policy: PolicyState) -> np.ndarray:
    """The current map as an RGB array ``[row, col, 3]`` (row 0 = north), gates coloured by status."""
    rgb = _base_frame(world).copy()
    height = world.grid.height
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
