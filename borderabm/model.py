"""BorderModel: the Mesa model that runs one scenario on the gridded Durand Line, day by day.

One step is one day (see ``docs/odd.md``, "Process overview and scheduling"):

1. policy of the day: fence share and wear, gates open and their capacity (``gates.py``); the
   model freezes what rules may read into a :class:`~borderabm.rules.today.Today`; patrols take
   their posts, and every informal crossing point gets its fence and detection for the day;
2. militants, traders, refugees, gate travellers act on that view (each kind's rules are array expressions in its
   module, which never imports this one);
3. patrols remember incidents, the fence takes damage and repairs, trigger rules are evaluated;
4. metrics are collected (Mesa's DataCollector, the one place the daily values are kept: trigger
   rules, the summary and the apps read them there, through :meth:`BorderModel.daily`).

Dated policy changes (closures, ``[[changes]]``, reopenings after trigger closures) are Mesa events
scheduled half a day before the step they affect, so they hold for that whole day.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from functools import partial

import mesa
import numpy as np
import pandas as pd

from borderabm.metrics import DailyMetrics, MetricName, Tally, breakdown_column, summarise
from borderabm.rules.crossing import CrossingPoints
from borderabm.rules.gate_travellers import GateTravellers, agents_per_gate
from borderabm.rules.gates import GatesToday, gates_today
from borderabm.rules.militants import BALOCHISTAN, KP, Militants
from borderabm.rules.patrols import Patrols
from borderabm.rules.policy import PolicyState
from borderabm.rules.population import Population
from borderabm.rules.refugees import Refugees
from borderabm.rules.today import Today
from borderabm.rules.traders import Traders
from borderabm.scenario import Scenario, with_overrides
from borderabm.world import World, build_world
from borderabm.world.routes import RouteNetwork, build_routes, informal_point_distance_km
from borderabm.world.world import PK

STREAM_KEYS = {"militant": 1, "trader": 2, "refugee": 3, "patrol": 4, "gate_traveller": 5,
               "domestic_attacks": 6}  # fmt: skip
# Daily series the model computes itself (registered in metrics.METRICS like every other).
GATES_CLOSED = "gates_closed_against_normal"
POLICY_COST = "policy_cost_usd"
# A dated event for day d fires at model time d + EVENT_LEAD; the step simulating day d runs at d + 1.
EVENT_LEAD = 0.5


class DailyCollector(mesa.DataCollector):
    """Mesa's data collector, which keeps the model's daily values: one list per series."""

    def series(self, name: str) -> Sequence:
        """The values of the daily series ``name`` collected so far, oldest first."""
        return self.model_vars[name]

    def collect(self, model: BorderModel) -> None:
        """Collect the day's row: the values Mesa's ``collect`` would store, in fewer steps.

        The first collection is Mesa's own (it validates the reporters). Later ones read the
        day's metrics straight from the frozen row rather than through one reporter call each,
        and store immutable values as they are: Mesa deep-copies every value, which for a number
        or a date is a copy equal to it. A run collects ~240 columns a day, so this was a
        measurable share of a day.
        """
        plan = getattr(self, "_plan", None)
        if plan is None or plan.reporters is not self.model_reporters or not self._validated:
            super().collect(model)
            self._plan = _CollectionPlan.of(self.model_reporters)
            return
        self._collection_steps.append(model.time)
        columns = self.model_vars
        row = model.metrics.row_cache
        for var, name in plan.metric_columns:
            columns[var].append(row[name])
        for var, reporter in plan.other_columns:
            value = reporter(model)
            columns[var].append(value if type(value) in _IMMUTABLE else deepcopy(value))


class BorderModel(mesa.Model):
    """The border model for one scenario.

    Attributes:
        settings: The validated scenario in force (dated ``[[changes]]`` replace it mid-run). Mesa's
            own ``scenario`` attribute is its experimental parameter object and is left alone.
        world: The gridded border belt.
        routes: Travel-time fields between the gates, informal points and towns.
        policy: What the policy levers say today.
        points: The informal crossing points and their state today.
        gates: Every gate's state, capacity and costs today (``gates.py``).
        traders, refugees, gate_travellers, militants, patrols: The agent populations (struct of
            arrays).
        day: Days simulated so far (the next step simulates this day).
        datacollector: Every daily series, kept here only (:meth:`daily` reads one).
    """

    def __init__(
        self,
        settings: Scenario,
        *,
        world: World | None = None,
        routes: RouteNetwork | None = None,
        rng: int | np.random.Generator | None = None,
    ):
        """Create a model.

        Args:
            settings: The scenario to run.
            world: A prebuilt world at the scenario's resolution (if None, the process's shared
                read-only world for the scenario's map, loaded once).
            routes: Prebuilt route fields for that world (if None, the process's shared read-only
                fields, loaded once).
            rng: Seed (or Generator) for the model's random streams; defaults to
                ``settings.seed``.
        """
        seed = settings.seed if rng is None else rng
        if not isinstance(seed, int | np.integer):  # a Generator or SeedSequence, as Mesa allows
            seed = int(np.random.default_rng(seed).integers(2**63))
        self.stream_seed = int(seed)  # the root of every kind's random stream
        super().__init__(rng=self.stream_seed)
        self.world = world or build_world(settings.map.resolution_km, settings.map.buffer_km)
        self.routes = routes or build_routes(self.world)
        self.policy = PolicyState(settings, self.world)  # holds the settings in force
        self.points = CrossingPoints(self.world, self.routes)
        self.day = 0
        self.people_per_agent = settings.scale.people_per_agent
        self._dated_actions: list[Callable[[], None]] = []  # Mesa holds events by weak reference
        self._trigger_armed_from = [0] * len(settings.triggers)

        self.gate_flat_cells = self.routes.node_flat[self.routes.gates]
        self.point_distance_km = informal_point_distance_km(self.world, self.routes)
        self.gates = self._gates_today()

        self.metrics = DailyMetrics(self.world.place_labels())
        population = settings.population
        self.patrols = Patrols(
            settings.patrols.units, rng=self.stream("patrol"), places=self, settings=settings
        )
        self.militants = Militants(
            round(population.militants * settings.militants.sanctuary_capacity),
            rng=self.stream("militant"),
            places=self,
            settings=settings,
        )
        # Groups based in Pakistan draw from their own stream: a policy that changes how many
        # cells set off leaves their attacks as they were (common random numbers).
        self.militants.domestic_rng = self.stream("domestic_attacks")
        self.traders = Traders(
            population.traders, rng=self.stream("trader"), places=self, settings=settings
        )
        self.refugees = Refugees(
            population.refugee_agents, rng=self.stream("refugee"), places=self, settings=settings
        )
        self.gate_travellers = GateTravellers(
            int(agents_per_gate(settings, self.policy.gate_names).sum()),
            rng=self.stream("gate_traveller"),
            places=self,
            settings=settings,
        )
        self._schedule_dated_policies()
        self.datacollector: DailyCollector = DailyCollector(model_reporters=self._reporters())

    @property
    def settings(self) -> Scenario:
        """The scenario in force (held once, by the policy state)."""
        return self.policy.settings

    @settings.setter
    def settings(self, value: Scenario) -> None:
        self.policy.settings = value

    def stream(self, kind: str) -> np.random.Generator:
        """An independent random stream for one agent kind, derived from the run's seed.

        Each kind draws from its own stream, so a policy that changes how often traders decide does
        not shift the militants' luck: replicate k of two scenarios is compared on the same draws
        (common random numbers), which sharpens paired comparisons.
        """
        key = STREAM_KEYS[kind]
        return np.random.default_rng(np.random.SeedSequence(self.stream_seed, spawn_key=(key,)))

    @property
    def populations(self) -> tuple[Population, ...]:
        """The agent populations, in the order they act."""
        return (self.militants, self.traders, self.refugees, self.gate_travellers, self.patrols)

    @property
    def agent_count(self) -> int:
        """Agents of every kind."""
        return sum(p.n for p in self.populations)

    # Schedule ------------------------------------------------------------------------------------
    def _at_day(self, day: float, action: Callable[[], None]) -> None:
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
        before = self.settings.patrols
        self.settings = with_overrides(self.settings, overrides, "changes")
        after = self.settings.patrols
        if (after.units, after.sector_weights) != (before.units, before.sector_weights):
            # Resize, not rebuild: the patrols' random stream and adaptive memory carry on.
            self.patrols.resize(after.units, self, self.settings)

    # Step ----------------------------------------------------------------------------------------
    def step(self) -> None:
        """Simulate one day."""
        self.metrics.start_day()
        self.points.reset_counts()
        self.policy.update_fence(self.day)
        self.gates = self._gates_today()
        today = self.view()
        units = self.patrols.allocate(today)
        self.points.update(self.settings, self.policy.fence_coverage,
                           self.policy.fence_integrity, units)  # fmt: skip

        self.militants.step(today)
        self.traders.step(today)
        self.refugees.step(today)
        self.gate_travellers.step(today)  # after the refugees: they take what capacity is left

        self.patrols.remember(today)
        sectors = len(self.world.sectors)
        # Every breach is tallied at its point (refugees never breach: they turn back).
        self.policy.wear_fence(
            np.bincount(self.points.sector, weights=self.points.breaches, minlength=sectors),
            np.bincount(self.points.sector, weights=units, minlength=sectors),
        )
        self._evaluate_triggers()

        self.metrics.freeze()
        self.datacollector.collect(self)
        self.day += 1
        if self.day >= self.settings.horizon_days:
            self.running = False

    def run(self, days: int | None = None) -> None:
        """Run ``days`` days (default: to the scenario's horizon)."""
        remaining = self.settings.horizon_days - self.day if days is None else days
        for _ in range(max(remaining, 0)):
            self.step()

    def _gates_today(self) -> GatesToday:
        return gates_today(self.policy.gates, self.settings, self.people_per_agent, self.rng)

    def view(self) -> Today:
        """What the rules may read today (a frozen view; the model builds one every morning)."""
        return Today(
            day=self.day,
            settings=self.settings,
            people_per_agent=self.people_per_agent,
            world=self.world,
            routes=self.routes,
            points=self.points,
            gate_flat_cells=self.gate_flat_cells,
            point_distance_km=self.point_distance_km,
            gates=self.gates,
            metrics=self.metrics,
            militant_base=self.militants.base,
            militant_target_flat=self.militants.target_flat,
        )

    # Lifetime --------------------------------------------------------------------------------------
    def release(self) -> None:
        """Free the model's memory now rather than at the next full garbage collection.

        Mesa ties a model into reference cycles (its step wrapper, its event generator and its
        scenario all point back at it), so a dropped model waits for Python's cyclic collector,
        which in a long-lived server may run rarely. Releasing breaks those cycles: once the last
        reference goes, the model is freed at once. What it computed stays readable (``day``,
        ``summary()``, ``timeseries()``, the populations); it can no longer step.
        """
        self.running = False
        for name in _SCHEDULING_ATTRIBUTES:
            self.__dict__.pop(name, None)
        self.step = _released_step  # type: ignore[method-assign]  # a plain function: no cycle

    # Triggers --------------------------------------------------------------------------------------
    @property
    def trigger_armed_from(self) -> tuple[int, ...]:
        """The first day on which each trigger rule may fire (again); 0 for a rule never fired.

        A rule that fired is re-armed ``cooldown_days`` after the gates it closed reopen.
        """
        return tuple(self._trigger_armed_from)

    def _evaluate_triggers(self) -> None:
        for i, trigger in enumerate(self.settings.triggers):
            if self.day < self._trigger_armed_from[i]:
                continue
            # The days before today, as daily() has them (only the window: no copy of the run).
            history = self.datacollector.series(trigger.metric)
            recent = history[max(len(history) - (trigger.window_days - 1), 0) :]
            total = sum(recent) + self.metrics.today[trigger.metric]
            if total <= trigger.threshold:
                continue
            self.metrics.add(Tally.TRIGGER_CLOSURES, 1)
            reopen_day = self.day + 1 + trigger.duration_days
            for gate in trigger.gates():
                self._at_day(self.day + 1, partial(self.policy.close_gate, gate))
                self._at_day(reopen_day, partial(self.policy.reopen_gate, gate))
            self._trigger_armed_from[i] = reopen_day + trigger.cooldown_days

    # Metrics ---------------------------------------------------------------------------------------
    def _reporters(self) -> dict[str, Callable[[BorderModel], object]]:
        reporters: dict[str, Callable[[BorderModel], object]] = {
            "day": _day,
            "date": _date,
            "gates_open": _gates_open,
            GATES_CLOSED: _gates_closed,
            "fence_km": _fence_km,
            "fence_share": _fence_share,
            "fence_integrity": _fence_integrity,
            "patrol_units": _patrol_units,
            POLICY_COST: _policy_cost,
        }
        for name in self.metrics.row():
            reporters[name] = partial(_metric_today, name)
        # The provinces' attacks under the names other tools read (issue 13), and the stock of
        # registered refugees.
        provinces = {p.name for p in self.world.provinces}
        for name, province in (
            (MetricName.ATTACKS_KP, KP),
            (MetricName.ATTACKS_BALOCHISTAN, BALOCHISTAN),
        ):
            column = breakdown_column(MetricName.ATTACKS, province)
            reporters[name] = partial(_metric_today, column) if province in provinces else _zero
        reporters[MetricName.REGISTERED_REFUGEES] = _registered_refugees
        for g, gate in enumerate(self.policy.gate_names):
            reporters[f"open.{gate}"] = partial(_gate_open, g)
        for sector in self.world.sectors:
            reporters[f"fence_share.{sector.name}"] = partial(_sector_fence_share, sector.id)
            reporters[f"patrol_units.{sector.name}"] = partial(_sector_units, sector.id)
        return reporters

    @property
    def date(self) -> dt.date:
        """Calendar date of the current day."""
        return self.settings.start_date + dt.timedelta(days=self.day)

    def daily(self, name: str) -> tuple:
        """The values of one daily series so far, oldest first (a copy: the collector keeps them).

        Args:
            name: A column of :meth:`timeseries` (``"attacks"``, ``"open.Torkham"``, ...).

        Raises:
            KeyError: For a name that is no daily series.
        """
        return tuple(self.datacollector.series(name))

    def timeseries(self) -> pd.DataFrame:
        """The daily series collected so far, one row per simulated day."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return frame.astype({"date": "datetime64[s]"})

    def summary(self) -> dict[str, float]:
        """Run totals in real units (a flat mapping of metric name to number)."""
        return summarise(self.timeseries())

    def agent_table(self) -> pd.DataFrame:
        """Every agent: id, kind, state and current cell (x, y)."""
        frames = []
        offset = 0
        for population in self.populations:
            cells = population.flat_cells(self)
            x, y = np.unravel_index(cells, self.world.grid.shape)
            frames.append(
                pd.DataFrame(
                    {
                        "id": population.ids + offset,
                        "kind": population.kind,
                        "state": np.asarray(population.states)[population.state],
                        "x": x,
                        "y": y,
                    }
                )
            )
            offset += population.n
        return pd.concat(frames, ignore_index=True)


# Values the collector stores as they are: Mesa's deep copy of one is a value equal to it.
_IMMUTABLE = frozenset({int, float, bool, str, dt.date, np.int64, np.float64, np.bool_})


@dataclass(frozen=True, eq=False)
class _CollectionPlan:
    """The collector's reporters, split into reads of the day's metrics row and the others."""

    reporters: dict  # the reporters the plan was made from (a new dict means a new plan)
    metric_columns: tuple[tuple[str, str], ...]  # (column, metric name in the row)
    other_columns: tuple[tuple[str, Callable[[BorderModel], object]], ...]

    @classmethod
    def of(cls, reporters: dict) -> _CollectionPlan:
        metric_columns, other_columns = [], []
        for var, reporter in reporters.items():
            if (
                isinstance(reporter, partial)
                and reporter.func is _metric_today
                and not reporter.keywords
            ):
                metric_columns.append((var, reporter.args[0]))
            elif isinstance(reporter, types.LambdaType | partial):  # called with the model
                other_columns.append((var, reporter))
            else:  # an attribute name, a [function, args] list or a method, as Mesa reads them
                other_columns.append((var, partial(_mesa_reporter_value, reporter)))
        return cls(reporters, tuple(metric_columns), tuple(other_columns))


def _mesa_reporter_value(reporter: str | list, model: BorderModel) -> object:
    if isinstance(reporter, str):
        return getattr(model, reporter, None)
    if isinstance(reporter, list):
        return reporter[0](*reporter[1])
    return reporter()


# Mesa's scheduling state (each refers back to the model) and the model's own dated actions.
_SCHEDULING_ATTRIBUTES = ("step", "_user_step", "_default_schedule", "_event_generators",
                          "_event_list", "_scenario", "_dated_actions")  # fmt: skip


def _released_step() -> None:
    raise RuntimeError("this model was released and can no longer step")


def _day(model: BorderModel) -> int:
    return model.day


def _date(model: BorderModel) -> dt.date:
    return model.date


def _gates_open(model: BorderModel) -> int:
    return int(model.gates.open.sum())


def _gates_closed(model: BorderModel) -> int:
    return len(model.policy.closed_against_normal())


def _policy_cost(model: BorderModel) -> float:
    deported = model.metrics.row_cache[Tally.DEPORTED_PEOPLE]
    return model.policy.daily_cost_usd(deported, model.patrols.n)


def _fence_km(model: BorderModel) -> float:
    return model.policy.fence_km


def _fence_share(model: BorderModel) -> float:
    return model.policy.fence_share


def _fence_integrity(model: BorderModel) -> float:
    return model.policy.fence_integrity_mean


def _patrol_units(model: BorderModel) -> int:
    return model.patrols.n


def _metric_today(name: str, model: BorderModel) -> float:
    return model.metrics.row_cache[name]


def _zero(model: BorderModel) -> float:
    return 0.0


def _registered_refugees(model: BorderModel) -> float:
    refugees = model.refugees
    holders = refugees.registered & (refugees.side == PK) & refugees.living()
    return float(np.count_nonzero(holders) * model.people_per_agent)


def _gate_open(gate: int, model: BorderModel) -> int:
    return int(model.gates.open[gate])


def _sector_fence_share(sector_id: int, model: BorderModel) -> float:
    return float(model.policy.fence_coverage[sector_id])


def _sector_units(sector_id: int, model: BorderModel) -> int:
    # One count of every sector per day, shared by the sectors' reporters of that day.
    counted = model.__dict__.get("_units_by_sector")
    if counted is None or counted.day != model.day or counted.post is not model.patrols.post:
        sectors = model.points.sector[model.patrols.post]
        counted = _UnitsBySector(model.day, model.patrols.post, np.bincount(sectors[sectors >= 0]))
        model.__dict__["_units_by_sector"] = counted
    units = counted.units
    return int(units[sector_id]) if 0 <= sector_id < units.size else 0


@dataclass(frozen=True, eq=False)
class _UnitsBySector:
    """Patrol units at the points of each sector, counted once for one day's collection."""

    day: int
    post: np.ndarray  # the posts counted (a new posting is counted again)
    units: np.ndarray  # units at the points of each sector id
