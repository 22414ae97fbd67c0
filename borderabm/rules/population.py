"""Struct-of-arrays populations: one numpy array per attribute, one row per agent.

Agents of a kind share their arrays; a rule is an array expression over a mask of rows. Every agent
still has an id, a kind, a state and (on demand) a cell, so each one can be inspected.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from borderabm.world.routes import FOOT, VEHICLE, RouteNetwork
from borderabm.world.world import AF, PK

if TYPE_CHECKING:
    from borderabm.rules.today import Places
    from borderabm.scenario import Scenario

HOURS_PER_DAY = {FOOT: 8.0, VEHICLE: 10.0}  # assumption: a day's travel on foot / by road
DAYS_PER_YEAR = 365.0  # yearly rates and costs become daily ones (one step is one day)


def state_names(states: type[IntEnum]) -> tuple[str, ...]:
    """The names of a kind's states, indexed by their values (``agent_table`` shows these)."""
    return tuple(state.name.lower() for state in sorted(states))


class Population(ABC):
    """What every agent kind shares: ``n`` agents, their ids and state codes, its random stream.

    A kind names itself and its states, sets up its own arrays in :meth:`populate` and says where
    its agents are in :meth:`flat_cells`; its rules (``step`` and the like) differ from kind to kind.

    Attributes:
        kind: The kind's name ("militant", "trader", "refugee", "patrol").
        states: The name of each state code.
        rng: The kind's own random stream (paired runs stay paired).
        n: Agents of the kind.
        ids: Each agent's id within its kind.
        state: Each agent's state code (``int8``); every agent starts in state 0.
    """

    kind: ClassVar[str]
    states: ClassVar[tuple[str, ...]]
    dead_state: ClassVar[int | None] = None  # the state of agents who died, for kinds that can

    def __init__(self, count: int, *, rng: np.random.Generator, places: Places, settings: Scenario):
        """Create ``count`` agents.

        Args:
            count: Agents.
            rng: This kind's own random stream (paired runs stay paired).
            places: The fixed geography.
            settings: The scenario in force.
        """
        self.rng = rng
        self._set_count(count)
        self.populate(places, settings)

    def _set_count(self, count: int) -> None:
        """Give ``count`` agents ids, all in state 0 (their arrays are the kind's to size)."""
        self.n = count
        self.ids = np.arange(count, dtype=np.int64)
        self.state = np.zeros(count, dtype=np.int8)

    def living(self) -> np.ndarray:
        """Which agents are alive (maps and counts leave out the dead)."""
        if self.dead_state is None:
            return np.ones(self.n, dtype=bool)
        return self.state != self.dead_state

    @abstractmethod
    def populate(self, places: Places, settings: Scenario) -> None:
        """Set up the kind's own arrays for its ``n`` agents (the constructor calls this once)."""

    @abstractmethod
    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every agent of the kind."""


class Travellers(Population):
    """A kind whose agents travel legs between nodes, each on its :class:`Journey`.

    Attributes:
        moving: The states in which an agent is on a leg.
        journey: Each agent's current leg.
    """

    moving: ClassVar[tuple[int, ...]]
    journey: Journey

    def on_a_leg(self) -> np.ndarray:
        """Rows of the agents travelling today."""
        return rows_where(self.on_a_leg_mask())

    def on_a_leg_mask(self) -> np.ndarray:
        """Which agents are travelling today."""
        # One comparison per moving state, or-ed: several times faster than np.isin here.
        state = self.state
        on_leg = state == self.moving[0]
        for moving in self.moving[1:]:
            on_leg |= state == moving
        return on_leg

    def arrivals(self) -> np.ndarray:
        """Move every agent on a leg one day along it; return the rows that arrive today."""
        # Journey.advance over the rows on a leg, done over the whole arrays with a mask (no
        # gathering and scattering of rows): the same float32 subtraction for the same agents.
        on_leg = self.on_a_leg_mask()
        journey = self.journey
        np.subtract(journey.remaining_h, journey.speed, out=journey.remaining_h, where=on_leg)
        return rows_where(on_leg & (journey.remaining_h <= 0.0))

    def with_travellers(self, cells: np.ndarray, places: Places) -> np.ndarray:
        """``cells`` (flat, one per agent) with each agent on a leg put where it is on it now."""
        moving = self.on_a_leg()
        cells[moving] = self.journey.cells(places.routes, moving, places.world.country)
        return cells


@dataclass
class Journey:
    """Where agents are going on the current leg: towards ``node`` from ``origin`` (flat cell)."""

    node: np.ndarray  # int16: target node of the leg, -1 when not travelling
    origin: np.ndarray  # int32: flat cell where the leg started
    remaining_h: np.ndarray  # float32: hours still to travel on the leg
    mode: np.ndarray  # int8: FOOT or VEHICLE
    speed: np.ndarray  # float32: travel-hours covered per day

    @classmethod
    def empty(cls, n: int) -> Journey:
        """No agent travelling."""
        return cls(
            node=np.full(n, -1, dtype=np.int16),
            origin=np.zeros(n, dtype=np.int32),
            remaining_h=np.zeros(n, dtype=np.float32),
            mode=np.zeros(n, dtype=np.int8),
            speed=np.zeros(n, dtype=np.float32),
        )

    def start(
        self,
        rows: np.ndarray,
        node: np.ndarray | int,
        origin: np.ndarray,
        hours: np.ndarray,
        mode: int,
        slowdown: float = 1.0,
    ) -> None:
        """Start a leg for ``rows``: ``hours`` of travel towards ``node`` from ``origin``."""
        self.node[rows] = node
        self.origin[rows] = origin
        self.remaining_h[rows] = hours
        self.mode[rows] = mode
        self.speed[rows] = HOURS_PER_DAY[mode] / slowdown

    def advance(self, rows: np.ndarray) -> np.ndarray:
        """Travel one day; return the rows (of ``rows``) that arrive today."""
        self.remaining_h[rows] -= self.speed[rows]
        return rows[self.remaining_h[rows] <= 0.0]

    def cells(self, routes: RouteNetwork, rows: np.ndarray, country: np.ndarray) -> np.ndarray:
        """Current flat cell of travelling agents: walk the next-cell pointers from the leg's start.

        The walk follows the pointers of the side the leg started on (``country`` is the world's
        country layer), so it stays in that country up to the border.
        """
        position = self.origin[rows].astype(np.int64)
        node = self.node[rows].astype(np.int64)
        remaining = self.remaining_h[rows]
        mode = self.mode[rows]
        side = (country.ravel()[position] == PK).astype(np.int64)
        for mode_value in (FOOT, VEHICLE):
            flat_hours, nxt = routes.hours(mode_value), routes.next_cells(mode_value)
            idx = rows_where((mode == mode_value) & (node >= 0))
            for _ in range(flat_hours.shape[1]):  # bounded by the path length; stops far earlier
                if idx.size == 0:
                    break
                ahead = flat_hours[node[idx], position[idx]] > np.maximum(remaining[idx], 0.0)
                step = nxt[side[idx], node[idx], position[idx]]
                moving = ahead & (step >= 0)
                position[idx[moving]] = step[moving]
                idx = idx[moving]
        return position


def rows_where(mask: np.ndarray) -> np.ndarray:
    """The indices where a 1-D boolean ``mask`` holds: ``np.flatnonzero`` without its wrappers.

    Rules call this a few dozen times a day on whole populations; numpy's own ``flatnonzero``
    goes through ``ravel`` and two Python wrappers each time.
    """
    return mask.nonzero()[0] if mask.ndim == 1 else np.flatnonzero(mask)


def other_side(side: np.ndarray) -> np.ndarray:
    """The country across the line from each ``side`` (Afghanistan for Pakistan, and back)."""
    return np.where(side == PK, AF, PK)


def choose_on_sides(
    wanted: np.ndarray,
    side: np.ndarray,
    weight: np.ndarray,
    rng: np.random.Generator,
    order: tuple[int, int] = (AF, PK),
) -> np.ndarray:
    """For each agent a place on the side it wants, with chance in proportion to the place's weight.

    Args:
        wanted: The side (``AF`` or ``PK``) each agent wants a place on.
        side: The side of each place.
        weight: The weight of each place.
        rng: The kind's random stream.
        order: The sides in the order their agents draw (one draw per side, so that a kind's
            random numbers keep the order they have always had).

    Returns:
        An index into the places, one per agent.
    """
    chosen = np.empty(wanted.size, dtype=np.int64)
    for country in order:
        mine = wanted == country
        candidates = np.flatnonzero(side == country)
        chances = weight[candidates] / weight[candidates].sum()
        chosen[mine] = rng.choice(candidates, size=int(mine.sum()), p=chances)
    return chosen


def probabilistic_round(values: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Round so that the expectation is kept: 2.3 becomes 3 with chance 0.3, else 2."""
    values = np.asarray(values, dtype=float)
    floor = np.floor(values)
    return (floor + (rng.random(values.shape) < values - floor)).astype(np.int64)


def gumbel(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Gumbel noise: argmin over ``cost + noise`` is a logit choice with this scale."""
    # In place, operation for operation as -scale * log(-log(clip(u))): the same values.
    noise = rng.random(shape)
    np.clip(noise, 1e-12, 1 - 1e-12, out=noise)
    np.log(noise, out=noise)
    np.negative(noise, out=noise)
    np.log(noise, out=noise)
    np.multiply(-scale, noise, out=noise)
    return noise
