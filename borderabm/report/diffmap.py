"""Difference maps: where a policy changes things, on the real map, beside both scenarios' own maps.

One picture per metric broken down by place (:data:`borderabm.analysis.places.PLACE_METRICS`): a row
per policy, and in each row three panels on the hill-shaded terrain — the reference's own map, the
policy's own map (one sequential colour scale shared by both, from zero), and the policy minus the
reference (a diverging scale centred on zero: red more, blue less). Sectors of the border are drawn
as stretches of the line coloured by their value, gates as diamonds, towns as dots. On the
difference panel a place whose paired interval excludes zero carries its difference as text.

The numbers are the rows of :func:`borderabm.analysis.places.place_table`; nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from borderabm.analysis.places import PLACE_METRICS, PlaceMetric
from borderabm.metrics import Dim, format_value, metric_info, metric_label
from borderabm.report import charts
from borderabm.report.worldmap import terrain_rgb
from borderabm.world import World

KM = 1000.0
MARGIN_KM = 60.0  # around the border line: the belt where every mapped place lies
OWN_SCALE = "viridis"  # a level, from zero (dark: none, yellow: most)
DIFFERENCE_SCALE = "RdBu_r"  # red: the policy has more; blue: fewer; white: no change
MAP_DPI = 80  # nine panels per picture: enough to read sector colours and labels
PANEL_INCHES = 4.6
MAX_POLICY_ROWS = 5  # a sweep of many design points would make a picture too tall to read
_TERRAIN: dict[int, np.ndarray] = {}  # id(world) -> faded terrain (the world is shared, read-only)

PLACE_KIND = {Dim.SECTOR.value: "sector", Dim.GATE.value: "gate", Dim.TOWN.value: "town"}


def map_file_name(metric: str) -> str:
    """The picture's file name in a report folder: ``map_<metric>.png``."""
    return f"map_{metric}.png"


def over_days_text(metric: str) -> str:
    """How the run's figure for a place is made from its days, in words."""
    over = metric_info(metric).over_days
    return {"max": "most on any day", "mean": "daily mean", "last": "on the last day"}.get(
        over, "run total"
    )


def _faded_terrain(world: World) -> np.ndarray:
    key = id(world)
    if key not in _TERRAIN:  # faded so that the coloured places stand out
        _TERRAIN[key] = 0.45 * terrain_rgb(world) + 0.55
    return _TERRAIN[key]


def _extent_km(world: World) -> tuple[float, float, float, float]:
    grid = world.grid
    return (grid.x0_m / KM, (grid.x0_m + grid.width * grid.cell_m) / KM,
            grid.y0_m / KM, (grid.y0_m + grid.height * grid.cell_m) / KM)  # fmt: skip


def _cell_km(world: World, cell: tuple[int, int]) -> tuple[float, float]:
    grid = world.grid
    return ((grid.x0_m + (cell[0] + 0.5) * grid.cell_m) / KM,
            (grid.y0_m + (cell[1] + 0.5) * grid.cell_m) / KM)  # fmt: skip


def sector_lines(world: World) -> dict[str, np.ndarray]:
    """Each sector's stretch of the border line, as km coordinates ``[n, 2]``."""
    line = world.border_line_m / KM
    chainage = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    stretches = {}
    for sector in world.sectors:
        idx = np.flatnonzero((chainage >= sector.start_km) & (chainage <= sector.end_km))
        if idx.size:
            idx = np.arange(max(idx[0] - 1, 0), min(idx[-1] + 2, len(line)))
            stretches[sector.name] = line[idx]
    return stretches


def _positions(world: World, dim: str) -> dict[str, tuple[float, float]]:
    """Where each place of a kind is drawn (a sector: the middle of its stretch)."""
    if dim == Dim.SECTOR.value:
        return {name: tuple(s[len(s) // 2]) for name, s in sector_lines(world).items()}
    places = world.crossings if dim == Dim.GATE.value else world.towns
    # By the breakdown's labels, which name a town like a province apart ("Kabul (town)").
    labels = world.place_labels()[dim]
    return {label: _cell_km(world, p.cell) for label, p in zip(labels, places, strict=True)}


def _draw_places(ax: Axes, world: World, dim: str, values: pd.Series, norm: Normalize,
                 colour_map: str) -> None:  # fmt: skip
    """The places of one kind coloured by ``values`` (indexed by place name) on one panel."""
    cmap = colormaps[colour_map]
    line = world.border_line_m / KM
    ax.plot(line[:, 0], line[:, 1], color="#555555", lw=0.8, zorder=2)
    if dim == Dim.SECTOR.value:
        for name, stretch in sector_lines(world).items():
            if name in values and np.isfinite(values[name]):
                ax.plot(stretch[:, 0], stretch[:, 1], color=cmap(norm(values[name])), lw=5.0,
                        solid_capstyle="butt", zorder=3, gid=name)  # fmt: skip
        return
    positions = _positions(world, dim)
    shown = [n for n in values.index if n in positions and np.isfinite(values[n])]
    if not shown:
        return
    marker, size = ("D", 70) if dim == Dim.GATE.value else ("o", 45)
    for name in shown:  # one artist per place, named by it (gid), so a picture can be checked
        x, y = positions[name]
        ax.scatter([x], [y], color=[cmap(norm(values[name]))], marker=marker, s=size,
                   edgecolor="black", linewidths=0.7, zorder=4, gid=name)  # fmt: skip


def _frame(ax: Axes, world: World, title: str) -> None:
    extent = _extent_km(world)
    ax.imshow(_faded_terrain(world), extent=extent, interpolation="nearest", zorder=1)
    line = world.border_line_m / KM
    ax.set_xlim(max(line[:, 0].min() - MARGIN_KM, extent[0]),
                min(line[:, 0].max() + MARGIN_KM, extent[1]))  # fmt: skip
    ax.set_ylim(max(line[:, 1].min() - MARGIN_KM, extent[2]),
                min(line[:, 1].max() + MARGIN_KM, extent[3]))  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=charts.TITLE_SIZE)


def difference_norm(differences: pd.Series) -> Normalize:
    """The difference panels' colour scale: symmetric about zero, so white is "no change"."""
    finite = differences.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    reach = float(np.abs(finite).max()) if finite.size else 0.0
    reach = reach if reach > 0 else 1.0
    return Normalize(-reach, reach)


def difference_map(
    world: World, places: pd.DataFrame, entry: PlaceMetric, out: Path, *, dpi: int = MAP_DPI
) -> Path | None:
    """Draw one metric's maps (reference, policy, difference per policy) to a PNG.

    Args:
        world: The map the runs were made on.
        places: Rows of :func:`~borderabm.analysis.places.place_table` (any metrics; this one's
            are drawn); the first scenario is the reference.
        entry: The metric and the kind of place.
        out: The picture file.
        dpi: Resolution.

    Returns:
        The file written, or None if the table has no rows of this metric.
    """
    figure = difference_figure(world, places, entry)
    return None if figure is None else charts.save(figure, out, dpi)


def difference_figure(world: World, places: pd.DataFrame, entry: PlaceMetric) -> Figure | None:
    """The figure of :func:`difference_map` (None without rows of the metric).

    Panels in rows of three per policy (reference, policy, difference); every place is one artist
    whose ``gid`` is the place's name.
    """
    rows = places[(places["metric"] == entry.metric) & (places["dim"] == entry.dim)]
    if rows.empty:
        return None
    names = list(dict.fromkeys(rows["scenario"]))
    reference, policies = names[0], names[1:] or names[:1]
    left_out = max(len(policies) - MAX_POLICY_ROWS, 0)
    policies = policies[:MAX_POLICY_ROWS]
    rows = rows[rows["scenario"].isin([reference, *policies])]
    means = rows.pivot(index="place", columns="scenario", values="mean")
    own_top = float(np.nanmax(means.to_numpy())) if means.size else 0.0
    own = Normalize(0.0, own_top if own_top > 0 else 1.0)
    centred = difference_norm(rows.loc[rows["scenario"] != reference, "diff"])
    label, kind = metric_label(entry.metric), PLACE_KIND.get(entry.dim, entry.dim)

    figure, axes = charts.new_figure(3 * PANEL_INCHES, PANEL_INCHES * 0.95 * len(policies) + 0.6,
                                     len(policies), 3)  # fmt: skip
    for row, policy in zip(axes, policies, strict=True):
        _frame(row[0], world, f"{reference} (reference)")
        _draw_places(row[0], world, entry.dim, means[reference], own, OWN_SCALE)
        _frame(row[1], world, f"{policy} (policy)")
        _draw_places(row[1], world, entry.dim, means[policy], own, OWN_SCALE)
        _frame(row[2], world, f"{policy} − {reference}")
        mine = rows[rows["scenario"] == policy].set_index("place")
        _draw_places(row[2], world, entry.dim, mine["diff"], centred, DIFFERENCE_SCALE)
        _label_clear_differences(row[2], world, entry, mine)
        own_bar = ScalarMappable(own, OWN_SCALE)
        figure.colorbar(own_bar, ax=list(row[:2]), shrink=0.8, pad=0.01).set_label(
            label, fontsize=8
        )
        figure.colorbar(ScalarMappable(centred, DIFFERENCE_SCALE), ax=row[2], shrink=0.8,
                        pad=0.01).set_label(f"Δ {label}", fontsize=8)  # fmt: skip
    replicates = int(rows["runs"].min())
    charts.title(figure, f"{label} by {kind} ({over_days_text(entry.metric)}; mean of "
                 f"{replicates} replicates)\nΔ = policy − reference on common seeds; a place is "
                 "labelled where its 95% interval excludes zero"
                 + (f"; the first {MAX_POLICY_ROWS} policies of {MAX_POLICY_ROWS + left_out}"
                    if left_out else ""))  # fmt: skip
    return figure


def signed_value(metric: str, value: float) -> str:
    """A difference for a person to read, with its sign: "+5,975", "−2,275"."""
    text = format_value(metric, value).replace("-", "−")
    return "+" + text if value > 0 else text


def _label_clear_differences(
    ax: Axes, world: World, entry: PlaceMetric, mine: pd.DataFrame
) -> None:
    positions = _positions(world, entry.dim)
    for place, row in mine[mine["clear"].astype(bool)].iterrows():
        if place not in positions:
            continue
        text = signed_value(entry.metric, float(row["diff"]))
        ax.annotate(text, positions[place], xytext=(5, 3), textcoords="offset points",
                    fontsize=7, zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8, "lw": 0})  # fmt: skip


def write_difference_maps(
    world: World,
    places: pd.DataFrame,
    out_dir: Path,
    metrics: Sequence[PlaceMetric] = PLACE_METRICS,
) -> list[Path]:
    """One picture per metric that the table holds (:func:`difference_map`).

    Each is named by :func:`map_file_name`; metrics without rows get none.
    """
    written = []
    for entry in metrics:
        path = difference_map(world, places, entry, out_dir / map_file_name(entry.metric))
        if path is not None:
            written.append(path)
    return written
