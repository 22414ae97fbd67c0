"""What is at a cell of the map: the place, its terrain and fence, the nearest crossing, and agents.

The run page calls :func:`describe_cell` when the pointer rests on (or clicks) the map.
"""

from __future__ import annotations

import datetime as dt
import html

import numpy as np

from borderabm.report.raster import gate_status
from borderabm.world.world import COUNTRIES

NEAR_CELLS = 1  # agents are counted in the cell and its 8 neighbours
SECTOR_NEAR_KM = 25.0  # cells this close to the Durand Line (in AF/PK) are shown their fence sector


def describe_cell(model, column: int, row: int) -> list[tuple[str, str]]:
    """(label, value) rows about the map cell at ``column``/``row`` (row 0 is the north edge).

    Args:
        model: A ``BorderModel``.
        column: Map column (the grid's x).
        row: Map row, counted from the top of the map.

    Returns:
        The rows to show, or an empty list outside the map.
    """
    world = model.world
    width, height = world.grid.width, world.grid.height
    try:  # the browser sends these: anything malformed is ignored, never an error
        x, y = int(column), height - 1 - int(row)
    except (TypeError, ValueError, OverflowError):
        return []
    if not (0 <= x < width and 0 <= y < height):
        return []
    cell = (x, y)
    rows = [("cell", f"x={x}, y={y} ({world.lat[cell]:.2f}°N, {world.lon[cell]:.2f}°E)")]
    country = COUNTRIES[int(world.country[cell])]
    province = int(world.province[cell])
    place = {"AF": "Afghanistan", "PK": "Pakistan"}.get(country, "outside AF/PK")
    if province >= 0:
        place += f", {world.provinces[province].name}"
    rows.append(("place", place))
    rows.append(("terrain", f"{world.elevation_m[cell]:,.0f} m, ruggedness "
                            f"{world.ruggedness_m[cell]:,.0f} m, "
                            f"{world.foot_hours_per_km[cell]:.2f} h/km on foot"))  # fmt: skip
    sector = world.sectors[int(world.sector[cell])]
    policy = model.policy
    fence = (f"fenced {policy.fence_coverage[sector.id]:.0%}, "
             f"intact {policy.fence_integrity[sector.id]:.0%}")  # fmt: skip
    if world.is_border[cell]:
        rows.append(("border", f"on the Durand Line, km {world.chainage_km[cell]:,.0f}"))
    else:
        rows.append(("border", f"{world.distance_to_border_km[cell]:,.0f} km away"))
    if country in ("AF", "PK") and world.distance_to_border_km[cell] <= SECTOR_NEAR_KM:
        rows.append(("sector", f"{sector.name}: {fence}"))
    else:  # a fence sector says nothing about a cell far from the line, or beyond AF/PK
        rows.append(("sector", f"none (fence sectors cover {SECTOR_NEAR_KM:g} km of the line)"))
    gate = min(world.crossings, key=lambda c: (c.cell[0] - x) ** 2 + (c.cell[1] - y) ** 2)
    gate_km = np.hypot(gate.cell[0] - x, gate.cell[1] - y) * world.grid.cell_km
    rows.append(("nearest gate", f"{gate.name} ({gate_status(policy, gate.name)}), "
                                 f"{gate_km:,.0f} km"))  # fmt: skip
    town = min(world.towns, key=lambda t: (t.cell[0] - x) ** 2 + (t.cell[1] - y) ** 2)
    town_km = np.hypot(town.cell[0] - x, town.cell[1] - y) * world.grid.cell_km
    rows.append(("nearest town", f"{town.name}, {town_km:,.0f} km"))
    rows.append(("agents within 1 cell", _agents_near(model, x, y)))
    return rows


def _agents_near(model, x: int, y: int) -> str:
    world = model.world
    counts = []
    for population in model.populations:
        cells = population.flat_cells(model)[population.living()]
        cx, cy = np.unravel_index(cells, world.grid.shape)
        near = int(
            np.count_nonzero((np.abs(cx - x) <= NEAR_CELLS) & (np.abs(cy - y) <= NEAR_CELLS))
        )
        if near:
            counts.append(f"{near:,} {population.kind}{'s' if near > 1 else ''}")
    return ", ".join(counts) if counts else "none"


def cell_html(rows: list[tuple[str, str]], pinned: bool) -> str:
    """The rows as a small HTML table (values escaped)."""
    if not rows:
        return ""
    title = "Clicked cell" if pinned else "Under the pointer"
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(label)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    return f"<div class='cell-info'><b>{title}</b><table>{body}</table></div>"


def gate_status_text(model, gate: str) -> str:
    """A gate's status today and, for a closed gate, why: its status, a dated closure, a rule.

    A dated closure is named when the day falls in its window (edges included, as the model
    applies it between days); a trigger rule only when it closed this gate and that closure still
    lasts (also edges included).
    """
    status = gate_status(model.policy, gate)
    if status != "closed":
        return status
    settings = model.settings
    crossing = settings.crossings[gate]
    if not crossing.open:
        return "closed (gate status)"
    reasons = []
    for closure in crossing.closures:
        if closure.start <= model.day <= closure.end:
            last = settings.start_date + dt.timedelta(days=closure.end - 1)
            reasons.append(f"{closure.reason or 'dated closure'} (days {closure.start}–"
                           f"{closure.end - 1}, to {last.isoformat()})")  # fmt: skip
    for rule, closed_from, reopens in rule_closures(model):
        if gate in rule.gates() and closed_from <= model.day <= reopens:
            last = settings.start_date + dt.timedelta(days=reopens - 1)
            reasons.append(f"rule “{rule.name}” (days {closed_from}–{reopens - 1}, "
                           f"to {last.isoformat()})")  # fmt: skip
    return "closed: " + " or ".join(reasons) if reasons else "closed"


def rule_closures(model) -> list[tuple]:
    """(rule, first closed day, reopening day) of each trigger rule's last closure, if it fired.

    The model re-arms a rule ``cooldown_days`` after the gates it closed reopen, and a rule cannot
    fire again before it is re-armed, so its last closure is known from when it re-arms.
    """
    closures = []
    for rule, armed in zip(model.settings.triggers, model.trigger_armed_from, strict=False):
        if armed <= 0:  # never fired
            continue
        reopens = armed - rule.cooldown_days
        closures.append((rule, reopens - rule.duration_days, reopens))
    return closures
