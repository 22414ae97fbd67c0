"""A static map of the world: terrain, countries, the border by sector, crossings, towns and roads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LightSource
from matplotlib.lines import Line2D

from borderabm.report import charts
from borderabm.world import World
from borderabm.world.world import AF, PK

COUNTRY_TINT = {AF: (0.86, 0.72, 0.45), PK: (0.55, 0.75, 0.52)}
OTHER_TINT = (0.82, 0.82, 0.82)
MAP_DPI = 130  # finer than a chart: town names at 7 points must stay legible


def terrain_rgb(world: World) -> np.ndarray:
    """Hill-shaded terrain tinted by country, as an RGB image ``[row, col, 3]`` (row 0 = north)."""
    elevation = world.elevation_m.T[::-1].astype(float)
    country = world.country.T[::-1]
    tint = np.empty((*country.shape, 3))
    tint[:] = OTHER_TINT
    for code, colour in COUNTRY_TINT.items():
        tint[country == code] = colour
    # High ground fades towards white so that ranges read at a glance (snow above ~5,000 m).
    highland = np.clip((elevation - 1500.0) / 3500.0, 0.0, 1.0)[..., None]
    tint = tint * (1.0 - 0.55 * highland) + 0.55 * highland
    shading = LightSource(azdeg=315, altdeg=35)
    return shading.shade_rgb(
        tint,
        elevation,
        blend_mode="soft",
        vert_exag=3.0,
        dx=world.grid.cell_m,
        dy=world.grid.cell_m,
    )


def draw_world(world: World, out: Path, *, dpi: int = MAP_DPI) -> Path:
    """Render the world map to a picture file (the format follows the extension; PNG without)."""
    grid = world.grid
    km = 1000.0
    extent = (
        grid.x0_m / km,
        (grid.x0_m + grid.width * grid.cell_m) / km,
        grid.y0_m / km,
        (grid.y0_m + grid.height * grid.cell_m) / km,
    )
    figure, axes = charts.new_figure(13, 9)
    ax = axes[0, 0]
    ax.imshow(terrain_rgb(world), extent=extent, interpolation="nearest")

    def centre_km(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            (grid.x0_m + (cells[:, 0] + 0.5) * grid.cell_m) / km,
            (grid.y0_m + (cells[:, 1] + 0.5) * grid.cell_m) / km,
        )

    for road in world.roads:
        ax.plot(*centre_km(road.cells), color="#5b3a1a", lw=1.6, ls="--", alpha=0.9)

    line = world.border_line_m / km
    chainage = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    colours = colormaps["tab20"]
    for sector in world.sectors:
        inside = (chainage >= sector.start_km) & (chainage <= sector.end_km)
        idx = np.flatnonzero(inside)
        if idx.size == 0:
            continue
        idx = np.arange(max(idx[0] - 1, 0), min(idx[-1] + 2, len(line)))
        colour = colours(sector.id % 20)
        ax.plot(line[idx, 0], line[idx, 1], color=colour, lw=3.2, solid_capstyle="butt")
        mid = line[idx[len(idx) // 2]]
        ax.annotate(
            sector.name,
            mid,
            xytext=(-14, 8),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color="black",
            bbox={"boxstyle": "round,pad=0.2", "fc": colour, "alpha": 0.75, "lw": 0},
        )

    for crossing in world.crossings:
        x, y = centre_km(np.array([crossing.cell]))
        ax.scatter(x, y, marker="D", s=42, color="white", edgecolor="black", zorder=5)
        ax.annotate(
            crossing.name,
            (x[0], y[0]),
            xytext=(6, -10),
            textcoords="offset points",
            fontsize=7,
            weight="bold",
            zorder=6,
        )
    for town in world.towns:
        x, y = centre_km(np.array([town.cell]))
        size = 18 + 30 * np.log10(max(town.population, 1000) / 1000)
        ax.scatter(
            x,
            y,
            s=size,
            color="#b2182b" if town.country == "PK" else "#2166ac",
            edgecolor="black",
            lw=0.5,
            zorder=4,
        )
        ax.annotate(
            town.name, (x[0], y[0]), xytext=(5, 4), textcoords="offset points", fontsize=7, zorder=6
        )

    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("km east (Lambert conformal conic, lon0 = 67.7E)")
    ax.set_ylabel("km north")
    ax.set_title(
        f"The Durand Line on a {grid.cell_km:g} km grid ({grid.width} x {grid.height} cells): "
        f"{world.border_length_km:,.0f} km on the grid, {world.border_geodesic_km:,.1f} km geodesic",
        pad=16,
        fontsize=charts.SUPTITLE_SIZE,
    )
    handles = [
        Line2D([], [], color=COUNTRY_TINT[AF], lw=8, label="Afghanistan"),
        Line2D([], [], color=COUNTRY_TINT[PK], lw=8, label="Pakistan"),
        Line2D([], [], color="#5b3a1a", ls="--", label="road corridor"),
        Line2D(
            [],
            [],
            marker="D",
            color="white",
            markeredgecolor="black",
            ls="",
            label="official crossing",
        ),
        Line2D([], [], marker="o", color="#b2182b", ls="", label="town (PK)"),
        Line2D([], [], marker="o", color="#2166ac", ls="", label="town (AF)"),
    ]
    charts.legend(ax, handles=handles, loc="lower right", framealpha=0.9)
    return charts.save(figure, out, dpi)


# The formats matplotlib writes, chosen by the file's extension.
PICTURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "tif", "tiff", "webp", "eps", "ps")


def picture_path(out: Path) -> Path:
    """The file a map is written to: ``out``, if it names a picture file.

    Checked before the world is built, so a bad name costs nothing. A name without an extension
    is refused rather than given ``.png``: the file written would then be another one than the
    one named (``out/`` as ``out.png`` next to the folder, ``notes`` as ``notes.png``).

    Raises:
        ValueError: For an existing folder, a name without an extension, or an extension that
            is not a picture format matplotlib writes.
    """
    allowed = f"allowed: a .png file path, or .{', .'.join(PICTURE_FORMATS[1:])}"
    if out.is_dir():
        raise ValueError(f"is a folder ({allowed})")
    if not out.suffix:
        raise ValueError(f"has no picture extension ({allowed})")
    if out.suffix[1:].lower() not in PICTURE_FORMATS:
        raise ValueError(f"unknown picture format {out.suffix!r} "
                         f"(allowed: .{', .'.join(PICTURE_FORMATS)})")  # fmt: skip
    return out


def map_caption(world: World, out: Path, resolution_km: float) -> str:
    """What was drawn: the file, the grid, and the border's length against the cited figure."""
    return (
        f"wrote {out}: {world.grid.width} x {world.grid.height} cells of {resolution_km:g} km; "
        f"border {world.border_length_km:,.1f} km on the grid "
        f"(Natural Earth geodesic {world.border_geodesic_km:,.1f} km; "
        f"cited 2,611-2,640 km)"
    )
