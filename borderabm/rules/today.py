"""What the rules may read: the fixed places, and a frozen view of one day that the model builds.

Rules (``borderabm/rules/*``) never see the model. Each morning the model builds a :class:`Today`:
the scenario in force, the gates' state and capacity, the informal crossing points (their fence
and detection for the day, and :meth:`CrossingPoints.attempt` to resolve crossings), and the
militants' appeal of each point, which patrols weigh. Rules read it, change their own arrays, and
record what happened through :class:`Recorder` (the day's counters, by names from
:class:`borderabm.metrics.Tally`) and the points' own tallies, which the model reads in the evening
(fence wear, patrol memory, metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from borderabm.rules.crossing import CrossingPoints
from borderabm.rules.gates import GatesToday
from borderabm.scenario import Scenario
from borderabm.world import World
from borderabm.world.routes import FOOT, RouteNetwork


class Places(Protocol):
    """The fixed geography every rule may read (the model and :class:`Today` both provide it)."""

    @property
    def world(self) -> World:
        """The gridded border belt."""
        ...

    @property
    def routes(self) -> RouteNetwork:
        """Travel-time fields between gates, informal points and towns."""
        ...

    @property
    def points(self) -> CrossingPoints:
        """The informal crossing points."""
        ...

    @property
    def gate_flat_cells(self) -> np.ndarray:
        """Flat cell of each gate, in the order of the scenario's gates."""
        ...


class Recorder(Protocol):
    """Where rules add the day's counts (see :class:`borderabm.metrics.DailyMetrics`)."""

    def add(self, name: str, value: float) -> None:
        """Add to a scalar counter."""
        ...

    def add_by(self, name: str, dim: str, index: np.ndarray, values: np.ndarray) -> None:
        """Add values to a breakdown (``index`` into the labels of ``dim``)."""
        ...


@dataclass(frozen=True, eq=False)
class Today:
    """Everything a rule may read on one day (built by the model before anyone acts).

    Attributes:
        day: The day being simulated (0 is the scenario's start date).
        settings: The scenario in force today (dated ``[[changes]]`` included).
        people_per_agent: People in one refugee family group or one gate-traveller agent.
        world: The gridded border belt.
        routes: Travel-time fields.
        points: The informal crossing points: fence and detection today, and where crossings are
            resolved and tallied.
        gate_flat_cells: Flat cell of each gate.
        point_distance_km: Distance from each informal point to every cell (border communities'
            reach).
        gates: Each gate's state, capacity, document regime, tariff and processing time today,
            and the people capacity used so far today (refugees, then gate travellers).
        metrics: The day's counters.
        militant_base: Flat cell of each militant cell's sanctuary.
        militant_target_flat: Flat cell of each town militants target.
    """

    day: int
    settings: Scenario
    people_per_agent: int
    world: World
    routes: RouteNetwork
    points: CrossingPoints
    gate_flat_cells: np.ndarray
    point_distance_km: np.ndarray
    gates: GatesToday
    metrics: Recorder
    militant_base: np.ndarray
    militant_target_flat: np.ndarray

    @cached_property
    def militant_point_appeal(self) -> np.ndarray:
        """How attractive each informal point is to militants: fast from sanctuaries to targets.

        Computed when first read (only the Stackelberg patrols need it), from the fence at the
        points at that moment.
        """
        if self.militant_base.size == 0:
            return np.ones(len(self.points))  # no adversary: every point alike
        routes = self.routes
        to_points = routes.informal_hours(FOOT)  # contiguous, as foot[np.ix_(informal, ...)] was
        to_bases = np.median(np.take(to_points, self.militant_base, axis=1), axis=1)
        to_targets = np.mean(np.take(to_points, self.militant_target_flat, axis=1), axis=1)
        hours = to_bases + to_targets + self.points.fence * self.settings.fence.breach_hours
        best = np.nanmin(np.where(np.isfinite(hours), hours, np.nan))
        return np.where(np.isfinite(hours), best / hours, 0.0)
