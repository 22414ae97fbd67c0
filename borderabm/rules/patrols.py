"""Patrols: border-force units posted at the informal crossing points, day by day.

Each unit watches ``patrols.coverage_km_per_unit`` of the stretch around its post; the chance that a
crosser is seen there follows from the units posted, the terrain, the fence's sensors and the joint
mechanism (``crossing_points.py``). Allocation strategies:

* **static** — posts fixed at the start, in proportion to each stretch's length;
* **uniform** — every unit draws a post at random every day (points equally likely, then
  sector weights);
* **adaptive** — posts follow recent detections and breaches (an exponentially weighted memory of
  ``adaptive_memory_days``), on top of an even base;
* **stackelberg** — coverage probabilities from a Stackelberg security game solved as linear
  programmes against an adversary who observes coverage (``stackelberg.py``); the adversary's payoff
  at a point is how quickly a cell gets from the sanctuaries to the targets through it, fence included.

``patrols.sector_weights`` multiplies a sector's share under the static, uniform and adaptive
strategies (a surge). Units also repair the fence of the sectors they are posted in (``repair_km_per_unit_day``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from borderabm.rules.population import Population
from borderabm.rules.stackelberg import stackelberg_coverage

if TYPE_CHECKING:
    from borderabm.rules.today import Places, Today
    from borderabm.scenario import PatrolStrategy, Scenario

STATES = ("posted",)
# Assumption: under the adaptive strategy a point's share of remembered incidents weighs twice its
# share of the border at rest, so posts follow trouble without leaving quiet stretches empty.
ADAPTIVE_INCIDENT_WEIGHT = 2.0

Allocator = Callable[["Patrols", "Today"], np.ndarray]
ALLOCATORS: dict[PatrolStrategy, Allocator] = {}
"""The rule of each patrol strategy, by the name a scenario gives it (``patrols.strategy``).

The names are the schema's :data:`borderabm.scenario.PATROL_STRATEGIES`; each rule returns the
units posted at every informal point today.
"""


def allocator(name: PatrolStrategy) -> Callable[[Allocator], Allocator]:
    """Register the rule of one patrol strategy under its name."""

    def register(rule: Allocator) -> Allocator:
        ALLOCATORS[name] = rule
        return rule

    return register


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` whole units in proportion to ``weights`` (deterministic)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(weights.size, dtype=np.int64)
    exact = weights / weights.sum() * total
    whole = np.floor(exact).astype(np.int64)
    short = total - int(whole.sum())
    order = np.lexsort((np.arange(weights.size), -(exact - whole)))
    whole[order[:short]] += 1
    return whole


def posts_from_counts(counts: np.ndarray) -> np.ndarray:
    """One post (point index) per unit, from units per point."""
    return np.repeat(np.arange(counts.size), counts)


class Patrols(Population):
    """All border-force units, as arrays (each unit's post is an informal point)."""

    kind = "patrol"
    states = STATES

    def populate(self, places: Places, settings: Scenario) -> None:
        """Post the units at rest, with no incident remembered yet."""
        self.incidents = np.zeros(len(places.points))  # remembered detections + breaches per point
        self._stackelberg_key: tuple | None = None
        self.resize(self.n, places, settings)

    def resize(self, count: int, places: Places, settings: Scenario) -> None:
        """Set the number of units and their resting posts (the stream and memory carry on)."""
        self._set_count(count)
        self.static_counts = largest_remainder(self.base_weights(places, settings), count)
        self.post = posts_from_counts(self.static_counts)
        self._stackelberg_key = None
        self._stackelberg_counts = self.static_counts

    @staticmethod
    def base_weights(places: Places, settings: Scenario) -> np.ndarray:
        """Each point's share of units at rest: its stretch length times its sector's weight."""
        points = places.points
        names = [s.name for s in places.world.sectors]
        weights = settings.patrols.sector_weights
        sector_weight = np.array([weights.get(name, 1.0) for name in names])
        return points.stretch_km * sector_weight[points.sector]

    def allocate(self, today: Today) -> np.ndarray:
        """Post the units for today by the scenario's strategy; return units per point."""
        counts = ALLOCATORS[today.settings.patrols.strategy](self, today)
        self.post = posts_from_counts(counts)
        return counts

    def remember(self, today: Today) -> None:
        """Fold today's detections and breaches into the adaptive memory."""
        points = today.points
        decay = np.exp(-1.0 / today.settings.patrols.adaptive_memory_days)
        self.incidents = self.incidents * decay + points.detections + points.breaches

    def stackelberg_counts(self, today: Today) -> np.ndarray:
        """Units per point from the Stackelberg game, solved again only when the fence changes."""
        points = today.points
        key = (round(float(points.fence.sum()), 3), self.n)
        if key != self._stackelberg_key:
            self._stackelberg_key = key
            reward = today.militant_point_appeal
            units_for_full = points.stretch_km / today.settings.patrols.coverage_km_per_unit
            resources = min(self.n / float(units_for_full.mean()), float(len(points)))
            solution = stackelberg_coverage(
                attacker_reward=reward,
                attacker_penalty=np.full(reward.size, -1.0),
                defender_reward=np.zeros(reward.size),
                defender_penalty=-reward,
                resources=resources,
            )
            wanted = solution.coverage * units_for_full
            self._stackelberg_counts = largest_remainder(wanted, self.n)
        return self._stackelberg_counts

    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every unit (its post)."""
        return places.points.flat_cells[self.post]


# --------------------------------------------------------------------------------------------
# The strategies
# --------------------------------------------------------------------------------------------
@allocator("static")
def _static(patrols: Patrols, today: Today) -> np.ndarray:
    """Posts fixed at the start, in proportion to each stretch's length and sector weight."""
    return patrols.static_counts


@allocator("uniform")
def _uniform(patrols: Patrols, today: Today) -> np.ndarray:
    """Every unit draws a post every day: points equally likely, then sector weights."""
    size = len(today.points)
    weights = patrols.base_weights(today, today.settings) / today.points.stretch_km  # surges only
    picks = patrols.rng.choice(size, size=patrols.n, p=weights / weights.sum())
    return np.bincount(picks, minlength=size)


@allocator("adaptive")
def _adaptive(patrols: Patrols, today: Today) -> np.ndarray:
    """Posts follow remembered detections and breaches, on top of the share at rest."""
    base = patrols.base_weights(today, today.settings)
    base = base / base.sum()
    recent = patrols.incidents / max(patrols.incidents.sum(), 1.0)
    return largest_remainder(base + ADAPTIVE_INCIDENT_WEIGHT * recent, patrols.n)


@allocator("stackelberg")
def _stackelberg(patrols: Patrols, today: Today) -> np.ndarray:
    """Coverage from a Stackelberg security game against an adversary who observes it."""
    return patrols.stackelberg_counts(today)
