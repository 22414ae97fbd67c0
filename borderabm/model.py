"""BorderModel: the Mesa model that runs one scenario on the gridded Durand Line, day by day.

One step is one day. Dated policy changes (closures, ``[[changes]]``, the deportation drive) are Mesa
events scheduled half a day before the step they affect, so they hold for that whole day. Metrics are
collected after every step by Mesa's DataCollector.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

import mesa
import numpy as np
import pandas as pd

from borderabm.geography import World, build_world
from borderabm.policies import PolicyState
from borderabm.scenario import Scenario, with_overrides

# A dated event for day d fires at model time d + EVENT_LEAD; the step simulating day d runs at d + 1.
EVENT_LEAD = 0.5


class BorderModel(mesa.Model):
    """The border model for one scenario.

    Attributes:
        settings: The validated scenario in force (dated ``[[changes]]`` replace it mid-run). Mesa's
            own ``scenario`` attribute is its experimental parameter object and is left alone.
        world: The gridded border belt.
        policy: What the policy levers say today.
        day: Days simulated so far (the next step simulates this day).
    """

    def __init__(self, settings: Scenario, *, world: World | None = None, rng: int | None = None):
        """Create a model.

        Args:
            settings: The scenario to run.
            world: A prebuilt world at the scenario's resolution (built or loaded from cache if None).
            rng: Seed for the model's random generator; defaults to ``settings.seed``.
        """
        super().__init__(rng=settings.seed if rng is None else rng)
        self.settings = settings
        self.world = world or build_world(settings.map.resolution_km, settings.map.buffer_km)
        self.policy = PolicyState(settings, self.world)
        self.day = 0
        self._closed_gate_days = 0
        self._cost_usd = 0.0
        self._dated_actions: list[Callable[[], None]] = []  # Mesa holds events by weak reference
        self._schedule_dated_policies()
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())

    # Schedule ------------------------------------------------------------------------------------
    def _at_day(self, day: int, action: Callable[[], None]) -> None:
        self._dated_actions.append(action)
        self.schedule_event(action, at=day + EVENT_LEAD)

    def _schedule_dated_policies(self) -> None:
        for gate, policy in self.settings.crossings.items():
            for closure in policy.closures:
                self._at_day(closure.start, partial(self.policy.close_gate, gate))
                self._at_day(closure.end, partial(self.policy.reopen_gate, gate))
        for change in self.settings.changes:
            self._at_day(change.day, partial(self._apply_change, change.set))

    def _apply_change(self, overrides: dict) -> None:
        # Validated at load time against the same base, so this cannot fail here.
        self.settings = with_overrides(self.settings, overrides, "changes")
        self.policy.settings = self.settings

    # Step ----------------------------------------------------------------------------------------
    def step(self) -> None:
        """Simulate one day."""
        self.policy.update_fence(self.day)
        closed = self.policy.closed_against_normal()
        self._closed_gate_days += len(closed)
        self._cost_usd += self.policy.daily_cost_usd()
        self.datacollector.collect(self)
        self.day += 1
        if self.day >= self.settings.horizon_days:
            self.running = False

    def run(self, days: int | None = None) -> None:
        """Run ``days`` days (default: to the scenario's horizon)."""
        remaining = self.settings.horizon_days - self.day if days is None else days
        for _ in range(max(remaining, 0)):
            self.step()

    # Metrics -------------------------------------------------------------------------------------
    def _reporters(self) -> dict[str, Callable[[BorderModel], float]]:
        reporters: dict[str, Callable[[BorderModel], float]] = {
            "day": lambda m: m.day,
            "date": lambda m: m.date,
            "gates_open": lambda m: sum(m.policy.gate_open(g) for g in m.policy.gate_names),
            "gates_closed_against_normal": lambda m: len(m.policy.closed_against_normal()),
            "fence_km": lambda m: m.policy.fence_km,
            "fence_share": lambda m: m.policy.fence_share,
            "policy_cost_usd": lambda m: m.policy.daily_cost_usd(),
        }
        for gate in self.policy.gate_names:
            reporters[f"open.{gate}"] = partial(_gate_open, gate)
        for sector in self.world.sectors:
            reporters[f"fence_share.{sector.name}"] = partial(_sector_fence_share, sector.id)
        return reporters

    @property
    def date(self) -> dt.date:
        """Calendar date of the current day."""
        return self.settings.start_date + dt.timedelta(days=self.day)

    def timeseries(self) -> pd.DataFrame:
        """The daily series collected so far, one row per simulated day."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return frame.astype({"date": "datetime64[s]"})

    def summary(self) -> dict[str, float]:
        """Run totals in real units (a flat mapping of metric name to number)."""
        series = self.timeseries()
        fence_share = series["fence_share"] if len(series) else pd.Series([np.nan])
        return {
            "days": float(self.day),
            "crossing_closed_days": float(self._closed_gate_days),
            "fence_share_mean": float(fence_share.mean()),
            "fence_km_end": float(self.policy.fence_km),
            "policy_cost_usd": float(self._cost_usd),
        }


def _gate_open(gate: str, model: BorderModel) -> int:
    return int(model.policy.gate_open(gate))


def _sector_fence_share(sector_id: int, model: BorderModel) -> float:
    return float(model.policy.fence_coverage[sector_id])
