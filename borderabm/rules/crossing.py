"""The irregular crossing submodel: what happens when someone crosses the line away from a gate.

Crossings happen at the informal crossing points (the easiest stretches of each sector, see
``geography/routes.py``). Each day every point has a fence share (fence built x its integrity), and a
detection probability from the patrol units posted there, the terrain, the fence's sensors and the
joint border mechanism. An attempt may meet the fence, be detected, be interdicted, and under lethal
rules of engagement end in deaths. A civilian attempt is made by a group of ``people`` (the agent's
people, ``scale.people_per_agent`` for refugees and gate travellers; one per truck for traders), and
``patrols.lethal_death_probability`` is per person, so the deaths of a stopped group are binomial over
its people and do not depend on how many people an agent stands for.

At the fence, militants and smugglers' pack trains cut through it (a *breach*, which damages it).
Civilians do not cut it: a family that meets the fence finds a way through with
``fence.civilian_passage_probability`` (a *passage*: a gap, a section damaged and not yet repaired,
a gate or culvert a paid guide knows, a bribe), else turns back. The chance is the same at every
point: where the fence is damaged, a crosser does not meet it at all (the fence share is coverage x
integrity), so damage already opens the way. A passage goes through an opening that is already
there, so it does not wear the fence; it is watched, though: a post or camera covering the gap sees
the group with ``fence.passage_detection_probability`` on top of the point's own detection. The fee
(``fence.passage_fee_usd``) enters the crossers' choice of point (``rules/refugees.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from borderabm.scenario import Scenario
from borderabm.world import World
from borderabm.world.routes import RouteNetwork

# Assumption: rugged ground hides crossers; visibility = exp(-ruggedness / VISIBILITY_SCALE_M).
VISIBILITY_SCALE_M = 400.0


@dataclass
class Attempts:
    """Outcome of a batch of attempts (one row per attempt)."""

    blocked: np.ndarray  # met an intact fence and found no way through: turned back, unseen
    breached: np.ndarray  # cut through the fence (militants, smugglers): wears it
    interdicted: np.ndarray
    killed: np.ndarray  # the attempting unit killed (a militant cell; all the people of a group)
    crossed: np.ndarray
    passed: np.ndarray  # civilians through a gap or by paid passage (does not wear the fence)
    deaths: np.ndarray  # civilians killed per attempt under lethal force (people; 0 for militants)


class CrossingPoints:
    """The informal crossing points and their state today."""

    def __init__(self, world: World, routes: RouteNetwork):
        self.world = world
        self.nodes = routes.informal
        self.cells = routes.node_cell[self.nodes]
        self.flat_cells = routes.node_flat[self.nodes]
        self.sector = routes.node_sector[self.nodes].astype(np.int64)
        count = len(self.nodes)
        per_sector = np.bincount(self.sector, minlength=len(world.sectors))
        sector_km = np.array([s.length_km for s in world.sectors])
        self.stretch_km = sector_km[self.sector] / per_sector[self.sector]
        rugged = world.ruggedness_m[self.cells[:, 0], self.cells[:, 1]]
        self.visibility = np.exp(-rugged / VISIBILITY_SCALE_M)
        self.terrain_hours_per_km = world.foot_hours_per_km[self.cells[:, 0], self.cells[:, 1]]
        self.fence = np.zeros(count)  # share of the stretch behind an intact fence
        self.units = np.zeros(count)  # patrol units posted
        self.detection = np.zeros(count)
        self.reset_counts()

    def __len__(self) -> int:
        return len(self.nodes)

    def reset_counts(self) -> None:
        """Clear today's per-point tallies."""
        n = len(self.nodes)
        self.attempts = np.zeros(n, dtype=np.int64)
        self.detections = np.zeros(n, dtype=np.int64)
        self.interdictions = np.zeros(n, dtype=np.int64)
        self.breaches = np.zeros(n, dtype=np.int64)
        self.passages = np.zeros(n, dtype=np.int64)
        self.crossings = np.zeros(n, dtype=np.int64)

    def update(self, settings: Scenario, fence_share: np.ndarray, integrity: np.ndarray,
               units: np.ndarray) -> None:  # fmt: skip
        """Recompute today's fence and detection at every point."""
        self.fence = fence_share[self.sector] * integrity[self.sector]
        self.units = units
        patrols = settings.patrols
        per_unit = patrols.detection_probability * np.minimum(
            patrols.coverage_km_per_unit / self.stretch_km, 1.0
        )
        per_unit = per_unit * self.visibility
        if patrols.joint_mechanism:
            per_unit = np.minimum(per_unit * (1.0 + patrols.joint_detection_bonus), 1.0)
        by_units = 1.0 - (1.0 - per_unit) ** units
        sensed = (
            self.fence * settings.fence.sensor_alert_probability if settings.fence.sensors else 0
        )
        self.detection = 1.0 - (1.0 - by_units) * (1.0 - sensed)

    def interdiction_risk(self, settings: Scenario) -> np.ndarray:
        """Chance that an attempt at each point is stopped, as crossers judge it."""
        return self.detection * _interdiction_probability(settings)

    def passage_risk(self, settings: Scenario) -> np.ndarray:
        """Extra chance of being stopped for a civilian group going through a gap, at each point.

        The gap's watcher (``fence.passage_detection_probability``) sees those the point's patrols
        and sensors missed.
        """
        seen_at_gap = (1.0 - self.detection) * settings.fence.passage_detection_probability
        return seen_at_gap * _interdiction_probability(settings)

    def attempt(
        self,
        points: np.ndarray,
        settings: Scenario,
        rng: np.random.Generator,
        *,
        can_breach: bool,
        civilian: bool,
        stop_probability: float | None = None,
        people: int = 1,
    ) -> Attempts:
        """Resolve attempts at ``points`` (indices into the points), tallying them per point.

        Args:
            points: Point index of each attempt.
            settings: The scenario in force.
            rng: The random stream of the crossers' kind.
            can_breach: Whether the crossers cut through a fence they meet; if not (civilian
                families), each finds a way through with ``fence.civilian_passage_probability``
                and is watched at the gap, else turns back.
            civilian: Civilians die under lethal force only, each stopped person with
                ``patrols.lethal_death_probability``; militant cells may be killed.
            stop_probability: Chance that a detection stops the crosser, if not the patrols' own.
            people: People in each civilian attempt (the agent's size); militants ignore it.
        """
        n = len(points)
        meets_fence = rng.random(n) < self.fence[points]
        detection = self.detection[points]
        if can_breach:
            breached = meets_fence
            passed = np.zeros(n, dtype=bool)
        else:
            fence = settings.fence
            breached = np.zeros(n, dtype=bool)
            passed = meets_fence & (rng.random(n) < fence.civilian_passage_probability)
            watched = 1.0 - (1.0 - detection) * (1.0 - fence.passage_detection_probability)
            detection = np.where(passed, watched, detection)
        blocked = meets_fence & ~breached & ~passed
        trying = ~blocked
        detected = trying & (rng.random(n) < detection)
        if stop_probability is None:
            stop_probability = _interdiction_probability(settings)
        interdicted = detected & (rng.random(n) < stop_probability)
        patrols = settings.patrols
        # One uniform draw per attempt whatever the rules, so the stream stays in step.
        fate = rng.random(n)
        if civilian:
            # Per person: a stopped group of ``people`` loses a binomial number of them.
            lethal = patrols.lethal_death_probability if patrols.lethal_force else 0.0
            # Drawn for the stopped only (the same numbers as for all, then kept where stopped).
            deaths = np.zeros(n, dtype=np.int64)
            if lethal > 0.0 and interdicted.any():
                deaths[interdicted] = binomial_quantile(fate[interdicted], people, lethal)
            killed = deaths >= people
        else:
            killed = interdicted & (fate < patrols.militant_kill_probability)
            deaths = np.zeros(n, dtype=np.int64)
        crossed = trying & ~interdicted
        size = len(self.nodes)
        self.attempts += np.bincount(points, minlength=size)
        self.detections += np.bincount(points[detected], minlength=size)
        self.interdictions += np.bincount(points[interdicted], minlength=size)
        self.breaches += np.bincount(points[breached], minlength=size)
        self.passages += np.bincount(points[passed], minlength=size)
        self.crossings += np.bincount(points[crossed], minlength=size)
        return Attempts(blocked, breached, interdicted, killed, crossed, passed, deaths)


def binomial_quantile(uniform: np.ndarray, trials: int, probability: float) -> np.ndarray:
    """Binomial(``trials``, ``probability``) draws by inverting its distribution at ``uniform``.

    One uniform per draw (``Generator.binomial`` takes a varying number, none when the probability
    is 0), so the caller's random stream advances the same however many die.

    Args:
        uniform: Uniform draws on [0, 1), one per draw wanted.
        trials: People at risk in each draw.
        probability: Chance that each of them dies.
    """
    if probability <= 0.0:
        return np.zeros(uniform.shape, dtype=np.int64)
    if probability >= 1.0:
        return np.full(uniform.shape, trials, dtype=np.int64)
    cdf = _binomial_cdf(trials, probability)
    return np.minimum(np.searchsorted(cdf, uniform, side="right"), trials).astype(np.int64)


@functools.lru_cache(maxsize=64)
def _binomial_cdf(trials: int, probability: float) -> np.ndarray:
    """The binomial distribution function at 0..trials (read-only; a run asks for few of them)."""
    k = np.arange(trials)
    # log P(k + 1) - log P(k), summed from log P(0): stays finite for any number of trials.
    steps = np.log((trials - k) / (k + 1)) + np.log(probability) - np.log1p(-probability)
    log_pmf = trials * np.log1p(-probability) + np.concatenate(([0.0], np.cumsum(steps)))
    cdf = np.cumsum(np.exp(log_pmf))
    cdf.flags.writeable = False
    return cdf


def _interdiction_probability(settings: Scenario) -> float:
    patrols = settings.patrols
    if patrols.lethal_force:
        return patrols.lethal_interdiction_probability
    return patrols.interdiction_probability
