"""``borderabm map``: draw the world to a picture file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from borderabm.apps.cli.common import fail, reason, stdout


def draw_map(
    out: Annotated[
        Path, typer.Option(help="PNG file to write (or .svg, .pdf, ...); not a folder.")
    ] = Path("world.png"),
    resolution: Annotated[
        float, typer.Option(min=2.0, max=20.0, help="Cell size in km (2-20).")
    ] = 5.0,
) -> None:
    """Draw the world (terrain, border, sectors, crossings, towns, roads) to a PNG."""
    from borderabm.report.worldmap import draw_world, map_caption, picture_path
    from borderabm.world import build_world

    try:  # before the world is built: a bad name costs nothing
        out = picture_path(out)
    except ValueError as error:
        fail([f"--out: {error}"], str(out))
    world = build_world(resolution)
    try:
        draw_world(world, out)
    except (OSError, ValueError) as error:
        fail([f"cannot write map: {reason(error)}"], str(out))
    stdout.print(map_caption(world, out, resolution))
