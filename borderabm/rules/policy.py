"""Policy state during a run: which gates are open, how much fence stands, what it all costs.

Dated changes reach this state as Mesa events scheduled by :class:`borderabm.model.BorderModel`;
this module only answers "what holds today" from the settings in force (held here, and only here)
and the closures in force (kept by :class:`borderabm.rules.gates.GateClosures`).
"""

from __future__ import annotations

import numpy as np

from borderabm.rules.gates import GateClosures
from borderabm.rules.population import DAYS_PER_YEAR
from borderabm.scenario import Scenario
from borderabm.world import World

# Assumption: the fence's capital cost is spread over a 20-year service life when a run is costed.
FENCE_SERVICE_YEARS = 20.0


class PolicyState:
    """What the policy levers say on the current day."""

    def __init__(self, settings: Scenario, world: World):
        self.world = world
        self.settings = settings
        self.gate_names = tuple(c.name for c in world.crossings)
        self.gates = GateClosures(self.gate_names)
        self.sector_length_km = np.array([s.length_km for s in world.sectors])
        self.fence_coverage = np.zeros(len(world.sectors))
        self.fence_integrity = np.ones(len(world.sectors))  # share of the built fence intact
        self.update_fence(0)

    # Gates (the rules are in borderabm.rules.gates) ---------------------------------------------------
    def close_gate(self, gate: str) -> None:
        """Start one closure of a gate (closures nest: a gate reopens when all have ended)."""
        self.gates.close(gate)

    def reopen_gate(self, gate: str) -> None:
        """End one closure of a gate."""
        self.gates.reopen(gate)

    def is_corridor(self, gate: str) -> bool:
        """Whether a gate runs as a 24/7 trade corridor today."""
        return self.gates.is_corridor(gate, self.settings)

    def gate_open(self, gate: str) -> bool:
        """Whether a gate is open today (corridor gates may be exempt from closures)."""
        return self.gates.is_open(gate, self.settings)

    def closed_against_normal(self) -> list[str]:
        """Gates open in normal times but shut today (by status, closures, triggers or changes)."""
        return self.gates.closed_against_normal(self.settings)

    # Fence -----------------------------------------------------------------------------------
    def update_fence(self, day: float) -> None:
        """Set the fenced share of every sector for a day (schedule, then sector overrides)."""
        fence = self.settings.fence
        self.fence_coverage[:] = fence.coverage_on(day)
        for sector in self.world.sectors:
            if sector.name in fence.sectors:
                self.fence_coverage[sector.id] = fence.sectors[sector.name]

    def wear_fence(self, breaches_by_sector: np.ndarray, units_by_sector: np.ndarray) -> None:
        """A day of decay, breach damage and patrol repairs, per sector."""
        fence = self.settings.fence
        built_km = np.maximum(self.fence_coverage * self.sector_length_km, 1e-9)
        damage = breaches_by_sector * fence.breach_damage_km / built_km
        repair = units_by_sector * self.settings.patrols.repair_km_per_unit_day / built_km
        integrity = self.fence_integrity - fence.integrity_decay_per_day - damage + repair
        self.fence_integrity = np.clip(integrity, 0.0, 1.0)

    @property
    def fence_integrity_mean(self) -> float:
        """Length-weighted integrity of the fence that is built."""
        built = self.fence_coverage * self.sector_length_km
        return float(built @ self.fence_integrity / built.sum()) if built.sum() > 0 else 1.0

    @property
    def fence_km(self) -> float:
        """Kilometres of border fenced today."""
        return float(self.fence_coverage @ self.sector_length_km)

    @property
    def fence_share(self) -> float:
        """Share of the border's length fenced today."""
        return self.fence_km / float(self.sector_length_km.sum())

    # Cost --------------------------------------------------------------------------------------
    def daily_cost_usd(
        self, deported_people: float = 0.0, patrol_units: int | None = None
    ) -> float:
        """What the policies in force cost for one day, in US$."""
        s = self.settings
        fence_per_km_year = s.fence.cost_usd_per_km / FENCE_SERVICE_YEARS
        fence_per_km_year += s.fence.maintenance_usd_per_km_year
        yearly = self.fence_km * fence_per_km_year
        units = s.patrols.units if patrol_units is None else patrol_units
        yearly += units * s.patrols.cost_usd_per_unit_year
        if s.corridor.enabled:
            yearly += s.corridor.cost_usd_per_year
        return yearly / DAYS_PER_YEAR + deported_people * s.deportation.cost_usd_per_person
