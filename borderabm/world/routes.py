"""Travel-time fields on the grid: how long it takes, on foot or by vehicle, to reach a place.

Every journey in the model is a chain of legs between *nodes* — the official gates, the informal
crossing points and the towns — so the model needs, for each node, the travel time from every cell
(a cost-distance field) and the next cell towards the node (to place agents on the map). The fields
depend on terrain only; policy (fences, closures, patrols) enters as costs at the crossing points.

Each side of the border has its own graph (its cells plus the border cells), so a leg towards a
crossing point never cuts through the other country and no journey goes round through Iran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from borderabm.world.cache import cache_root, derived, load_shared
from borderabm.world.world import AF, PK, World

# Informal crossing points: about one per INFORMAL_POINT_SPACING_KM of each sector, at least two.
INFORMAL_POINT_SPACING_KM = 80.0
MIN_POINTS_PER_SECTOR = 2
FIELDS_FORMAT = 2

NODE_GATE, NODE_INFORMAL, NODE_TOWN = 0, 1, 2
FOOT, VEHICLE = 0, 1  # travel modes (what :meth:`RouteNetwork.hours` and journeys are indexed by)
NEIGHBOUR_OFFSETS = ((1, 0), (0, 1), (1, 1), (1, -1))


@dataclass(frozen=True)
class RouteNetwork:
    """Nodes and travel-time fields for one world.

    Node order: the gates (as ``world.crossings``), the informal points, then the towns (as
    ``world.towns``). Fields are ``[node, x, y]`` in hours; ``inf`` where a cell cannot reach the node.
    """

    node_kind: np.ndarray  # int8 [node]
    node_cell: np.ndarray  # int [node, 2]
    node_sector: np.ndarray  # int [node], -1 for towns
    node_name: tuple[str, ...]
    foot_hours: np.ndarray  # float32 [node, x, y]
    vehicle_hours: np.ndarray  # float32 [node, x, y]
    # Next flat cell towards the node on each side's graph, [side (0 AF, 1 PK), node, x*y];
    # -1 at the node or where unreachable. A walk follows its own side's pointers, so it never
    # strays into the other country on the way to a crossing point.
    foot_next: np.ndarray
    vehicle_next: np.ndarray

    @property
    def gates(self) -> np.ndarray:
        """Node indices of the official gates."""
        return self._derived("gates", lambda: np.flatnonzero(self.node_kind == NODE_GATE))

    @property
    def informal(self) -> np.ndarray:
        """Node indices of the informal crossing points."""
        return self._derived("informal", lambda: np.flatnonzero(self.node_kind == NODE_INFORMAL))

    @property
    def towns(self) -> np.ndarray:
        """Node indices of the towns."""
        return self._derived("towns", lambda: np.flatnonzero(self.node_kind == NODE_TOWN))

    @property
    def crossing_points(self) -> np.ndarray:
        """Node indices of every place where the border can be crossed (gates, then informal)."""
        return self._derived("crossing_points", lambda: np.flatnonzero(self.node_kind != NODE_TOWN))

    @property
    def grid_shape(self) -> tuple[int, int]:
        """The ``(x, y)`` shape of the grid the fields cover."""
        _, width, height = self.foot_hours.shape
        return width, height

    @property
    def node_flat(self) -> np.ndarray:
        """Flat cell (index into the raveled grid) of every node."""
        return self._derived(
            "node_flat", lambda: np.ravel_multi_index(tuple(self.node_cell.T), self.grid_shape)
        )

    def hours(self, mode: int) -> np.ndarray:
        """Travel hours to each node from every cell, ``[node, flat cell]`` (a view, not a copy).

        Args:
            mode: :data:`FOOT` or :data:`VEHICLE`.
        """
        field = self.foot_hours if mode == FOOT else self.vehicle_hours
        return field.reshape(field.shape[0], -1)

    def gate_hours(self, mode: int) -> np.ndarray:
        """Travel hours to each gate from every cell, ``[gate, flat cell]``.

        The rows of :meth:`hours` for the gates, kept as one contiguous read-only block: a rule
        that prices every gate for many agents takes columns of it (``np.take(..., axis=1)``),
        which is several times faster than ``hours(mode)[np.ix_(gates, cells)]``, to the same values.
        """
        return self._derived(("gate_hours", mode), lambda: self.hours(mode)[self.gates])

    def informal_hours(self, mode: int) -> np.ndarray:
        """Travel hours to each informal point from every cell, ``[point, flat cell]``.

        As :meth:`gate_hours`, for the informal crossing points.
        """
        return self._derived(("informal_hours", mode), lambda: self.hours(mode)[self.informal])

    def _derived(self, key: object, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """A read-only array computed from the fields once per network and kept with it.

        Rules read these every day; recomputing them each time was a measurable share of a day.
        The fields are read-only, so what is computed from them never goes stale.
        """
        cache = self.__dict__.setdefault("_derived_cache", {})
        value = cache.get(key)
        if value is None:
            value = np.ascontiguousarray(compute())
            value.flags.writeable = False
            cache[key] = value
        return value

    def __getstate__(self) -> dict:
        """Pickle the fields only (derived arrays are recomputed on demand, not stored)."""
        state = dict(self.__dict__)
        state.pop("_derived_cache", None)
        return state

    def next_cells(self, mode: int) -> np.ndarray:
        """Next flat cell towards each node, ``[side, node, flat cell]`` (see ``foot_next``)."""
        return self.foot_next if mode == FOOT else self.vehicle_next

    def town_node(self, world: World, name: str) -> int:
        """Node index of a town by name."""
        offset = int(self.towns[0])
        return offset + next(i for i, t in enumerate(world.towns) if t.name == name)


def build_routes(world: World, *, use_cache: bool = True) -> RouteNetwork:
    """Build (or load from the disk cache) the route network of a world.

    With the cache, every caller in the process gets the same read-only network for the same world
    (its arrays are not writeable), loaded once; without it, a fresh network is built.
    """
    if not use_cache:
        return _build(world)
    return load_shared(_cache_path(world), lambda: _build(world))


def informal_point_distance_km(world: World, routes: RouteNetwork) -> np.ndarray:
    """Straight-line distance (km) from each informal crossing point to every cell.

    Returns:
        float32 ``[point, x * y]``, computed once per route network and shared read-only by every
        model using it (about 6 MB at 5 km).
    """

    def compute() -> np.ndarray:
        point_xy = routes.node_cell[routes.informal].astype(float)
        cx, cy = np.indices(world.grid.shape).reshape(2, -1)
        distance = np.hypot(point_xy[:, :1] - cx[None, :], point_xy[:, 1:] - cy[None, :])
        return (distance * world.grid.cell_km).astype(np.float32)

    key = f"informal_point_distance_km|{world.grid.shape}|{world.grid.cell_km!r}"
    return derived(routes, key, compute)


def _cache_path(world: World) -> Path:
    digest = hashlib.sha256()
    digest.update(f"{FIELDS_FORMAT}|{INFORMAL_POINT_SPACING_KM}|{MIN_POINTS_PER_SECTOR}".encode())
    for layer in (world.foot_hours_per_km, world.vehicle_hours_per_km, world.country,
                  world.is_border, world.sector):  # fmt: skip
        digest.update(np.ascontiguousarray(layer).tobytes())
    digest.update(repr([t.cell for t in world.towns] + [c.cell for c in world.crossings]).encode())
    digest.update(Path(__file__).read_bytes())
    return cache_root() / f"routes-{world.grid.cell_km:g}km-{digest.hexdigest()[:16]}.pickle"


def informal_points(world: World) -> list[tuple[int, int, int]]:
    """Informal crossing points: the easiest border cell (on foot) in each stretch of each sector.

    Returns:
        ``(x, y, sector)`` per point, ordered along the line.
    """
    gate_cells = {c.cell for c in world.crossings}
    xs, ys = np.nonzero(world.is_border)
    chainage = world.chainage_km[xs, ys]
    cost = world.foot_hours_per_km[xs, ys]
    points = []
    for sector in world.sectors:
        count = max(MIN_POINTS_PER_SECTOR, round(sector.length_km / INFORMAL_POINT_SPACING_KM))
        edges = np.linspace(sector.start_km, sector.end_km, count + 1)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            stretch = np.flatnonzero((chainage >= lo) & (chainage < hi) & np.isfinite(cost))
            inside = [i for i in stretch if (xs[i], ys[i]) not in gate_cells]
            if not inside:
                continue
            best = min(inside, key=lambda i: (cost[i], chainage[i]))
            points.append((int(xs[best]), int(ys[best]), sector.id, float(chainage[best])))
    points.sort(key=lambda p: p[3])
    return [(x, y, s) for x, y, s, _ in points]


def _side_graph(world: World, hours_per_km: np.ndarray, side: int) -> csr_matrix:
    """Sparse 8-neighbour graph of one side's cells plus the border cells; weights in hours."""
    width, height = world.grid.shape
    allowed = ((world.country == side) | world.is_border) & np.isfinite(hours_per_km)
    index = np.arange(width * height).reshape(width, height)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for dx, dy in NEIGHBOUR_OFFSETS:
        a = (slice(0, width - dx), slice(max(0, -dy), height - max(0, dy)))
        b = (slice(dx, width), slice(max(0, dy), height - max(0, -dy)))
        both = allowed[a] & allowed[b]
        step_km = world.grid.cell_km * (np.sqrt(2.0) if dx and dy else 1.0)
        hours = 0.5 * (hours_per_km[a] + hours_per_km[b]) * step_km
        rows.append(index[a][both])
        cols.append(index[b][both])
        weights.append(hours[both])
    edges = (np.concatenate(rows), np.concatenate(cols))
    size = width * height
    return coo_matrix((np.concatenate(weights), edges), shape=(size, size)).tocsr()


def _fields(
    world: World, hours_per_km: np.ndarray, sources: np.ndarray, source_side: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Travel hours to each source from every cell (on the cell's side) and, per side, the next cell.

    Returns:
        ``hours [source, cell]`` (border cells take the faster side) and
        ``next [side, source, cell]`` with side 0 for Afghanistan's graph and 1 for Pakistan's.
    """
    shape = (len(sources), world.grid.width * world.grid.height)
    hours = np.full(shape, np.inf, dtype=np.float32)
    nxt = np.full((2, *shape), -1, dtype=np.int32)
    cell_country = world.country.ravel()
    border = world.is_border.ravel()
    flat_sources = np.ravel_multi_index(tuple(sources.T), world.grid.shape)
    for side in (AF, PK):
        rows = np.flatnonzero((source_side == side) | (source_side == 0))
        if rows.size == 0:
            continue
        graph = _side_graph(world, hours_per_km.astype(np.float64), side)
        dist, pred = dijkstra(graph, directed=False, indices=flat_sources[rows],
                              return_predecessors=True)  # fmt: skip
        on_side = (cell_country == side) | border
        layer = 0 if side == AF else 1
        for k, row in enumerate(rows):
            better = on_side & (dist[k] < hours[row])
            hours[row, better] = dist[k, better]
            nxt[layer, row, on_side] = pred[k, on_side]
    nxt[nxt < 0] = -1  # scipy marks "no predecessor" with -9999
    return hours, nxt


def _build(world: World) -> RouteNetwork:
    gate_cells = [c.cell for c in world.crossings]
    points = informal_points(world)
    town_cells = [t.cell for t in world.towns]
    cells = np.array(gate_cells + [(x, y) for x, y, _ in points] + town_cells, dtype=np.int64)
    kind = np.array(
        [NODE_GATE] * len(gate_cells)
        + [NODE_INFORMAL] * len(points)
        + [NODE_TOWN] * len(town_cells),
        dtype=np.int8,
    )
    sector = np.array(
        [c.sector for c in world.crossings] + [s for _, _, s in points] + [-1] * len(town_cells)
    )
    names = tuple(
        [c.name for c in world.crossings]
        + [f"{world.sectors[s].name} informal {i}" for i, (_, _, s) in enumerate(points)]
        + [t.name for t in world.towns]
    )
    # Crossing points lie on the border and belong to both sides (0); towns to their own side.
    side = np.array([0] * (len(gate_cells) + len(points)) + [AF if t.country == "AF" else PK
                                                             for t in world.towns])  # fmt: skip
    foot, foot_next = _fields(world, world.foot_hours_per_km, cells, side)
    vehicle, vehicle_next = _fields(world, world.vehicle_hours_per_km, cells, side)
    shape = (len(cells), *world.grid.shape)
    return RouteNetwork(
        node_kind=kind,
        node_cell=cells,
        node_sector=sector,
        node_name=names,
        foot_hours=foot.reshape(shape),
        vehicle_hours=vehicle.reshape(shape),
        foot_next=foot_next,
        vehicle_next=vehicle_next,
    )
