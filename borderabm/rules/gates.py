"""Official gates: open or closed, daily capacity, processing time, first-come first-served queues.

Everything about gates is here: which closures are in force (dated closures and trigger rules
close and reopen gates; closures nest), whether a gate runs as a 24/7 trade corridor, and the
state of every gate on one day (:class:`GatesToday`), which the rules read. Queued agents carry the
gate and their arrival day; each open gate serves, in arrival order, as many as its capacity allows
today. Corridor gates get the corridor's capacity multiplier and fast-track. A closed gate may let
a few people through on humanitarian grounds (``humanitarian_people_per_day``). The people capacity
of a day is shared: refugees, then gate travellers, take from it and note what they took in
:attr:`GatesToday.served_people`, the one record of the day that rules write.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from borderabm.rules.population import probabilistic_round
from borderabm.scenario import Scenario, normally_open_gates
from borderabm.scenario.schema import DOCUMENT_REGIMES

HOURS_PER_DAY = 24.0
# Each document regime as a code: a traveller meets a gate's regime when the code of the documents
# held (0 none, 1 border permit or tazkira, 2 passport and visa) is at least the regime's.
REGIME_CODE = {regime: code for code, regime in enumerate(DOCUMENT_REGIMES)}
NO_DOCUMENTS, BORDER_PERMIT, PASSPORT_VISA = (REGIME_CODE[r] for r in DOCUMENT_REGIMES)


class GateClosures:
    """The closures in force at each gate (closures nest: a gate reopens when all have ended)."""

    def __init__(self, gate_names: tuple[str, ...]):
        self.gate_names = gate_names
        self._closures: Counter[str] = Counter()  # gate -> number of closures in force
        self.normally_open = normally_open_gates()
        self._fixed: tuple[Scenario, tuple[str, ...], float, FixedGates] | None = None

    def fixed_today(self, settings: Scenario, people_per_agent: float) -> FixedGates:
        """:func:`fixed_gates` for today, made again only when the policy has changed.

        The scenario in force is frozen (a dated change replaces it), so it is known by identity;
        the closures by the gates they shut.
        """
        shut = tuple(gate for gate in self.gate_names if self._closures[gate] > 0)
        held = self._fixed
        if (
            held is None
            or held[0] is not settings
            or held[1] != shut
            or held[2] != people_per_agent
        ):
            held = self._fixed = (settings, shut, people_per_agent,
                                  fixed_gates(self, settings, people_per_agent))  # fmt: skip
        return held[3]

    def close(self, gate: str) -> None:
        """Start one closure of a gate."""
        self._closures[gate] += 1

    def reopen(self, gate: str) -> None:
        """End one closure of a gate."""
        self._closures[gate] = max(self._closures[gate] - 1, 0)

    @staticmethod
    def is_corridor(gate: str, settings: Scenario) -> bool:
        """Whether a gate runs as a 24/7 trade corridor."""
        corridor = settings.corridor
        return corridor.enabled and gate in corridor.gates

    def is_open(self, gate: str, settings: Scenario) -> bool:
        """Whether a gate is open (corridor gates may be exempt from closures)."""
        if self.is_corridor(gate, settings) and settings.corridor.exempt_from_closures:
            return True
        return settings.crossings[gate].open and self._closures[gate] == 0

    def closed_against_normal(self, settings: Scenario) -> list[str]:
        """Gates open in normal times but shut (by status, closures, triggers or changes)."""
        return [gate for gate in self.normally_open if not self.is_open(gate, settings)]


@dataclass(frozen=True, eq=False)
class GatesToday:
    """Every gate's state on one day, in the order of the scenario's gates (arrays read-only).

    Attributes:
        open: Open today.
        trade_allowed: Lets trucks through when open (status open, truck capacity above zero).
        people_allowed: Lets people through when open.
        tariff: Tariff as a share of a consignment's value.
        processing_h: Processing time today (fast-track on corridor gates).
        expected_wait_days: Days a trader expects a temporarily closed gate to stay shut.
        capacity_trucks: Whole consignments each gate serves today.
        capacity_people: Whole people-agents (``scale.people_per_agent`` people each) each gate
            serves today (0 when closed).
        capacity_humanitarian: Whole people-agents a closed gate lets through today on
            humanitarian grounds (patients, visiting families, returnees; 0 when open).
        document_regime: What each gate asks a traveller to show, as a code of
            :data:`REGIME_CODE`.
        corridor: Indices of the corridor's gates (empty when no corridor runs).
        served_people: People-agents each gate has let through so far today (normal and
            humanitarian passage), the one array rules write: whoever comes later in the day
            gets what is left.
    """

    open: np.ndarray
    trade_allowed: np.ndarray
    people_allowed: np.ndarray
    tariff: np.ndarray
    processing_h: np.ndarray
    expected_wait_days: np.ndarray
    capacity_trucks: np.ndarray
    capacity_people: np.ndarray
    capacity_humanitarian: np.ndarray
    document_regime: np.ndarray
    corridor: np.ndarray
    served_people: np.ndarray

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name != "served_people":
                value.setflags(write=False)  # rules read the day's gates; only the model sets them

    def people_left(self) -> np.ndarray:
        """People-agents each gate can still let through today (normal or humanitarian)."""
        return np.maximum(self.capacity_people + self.capacity_humanitarian - self.served_people, 0)


def gates_today(
    closures: GateClosures,
    settings: Scenario,
    people_per_agent: float,
    rng: np.random.Generator,
) -> GatesToday:
    """Gate status, capacity (whole agents, rounded keeping the mean) and costs for one day."""
    fixed = closures.fixed_today(settings, people_per_agent)
    humanitarian = fixed.humanitarian
    # No draw without the lever, so that the model's stream stays as it was.
    if humanitarian.any():
        humanitarian_agents = probabilistic_round(humanitarian / people_per_agent, rng)
    else:
        humanitarian_agents = np.zeros(len(closures.gate_names), dtype=np.int64)
    return GatesToday(
        open=fixed.open,
        trade_allowed=fixed.trade_allowed,
        people_allowed=fixed.people_allowed,
        tariff=fixed.tariff,
        processing_h=fixed.processing_h,
        expected_wait_days=fixed.expected_wait_days,
        capacity_trucks=probabilistic_round(fixed.capacity_trucks, rng),
        capacity_people=probabilistic_round(fixed.capacity_people, rng),
        capacity_humanitarian=humanitarian_agents,
        document_regime=fixed.document_regime,
        corridor=fixed.corridor,
        served_people=np.zeros(len(closures.gate_names), dtype=np.int64),
    )


@dataclass(frozen=True, eq=False)
class FixedGates:
    """What a day's gates are before the day's random rounding: it changes only with the policy.

    The arrays are read-only and shared by every day with the same scenario in force and the same
    gates closed (see :meth:`GateClosures.fixed_today`). ``capacity_trucks``/``capacity_people``
    are the agents each gate can serve before rounding; ``humanitarian`` the people a closed gate
    lets through on humanitarian grounds.
    """

    open: np.ndarray
    trade_allowed: np.ndarray
    people_allowed: np.ndarray
    tariff: np.ndarray
    processing_h: np.ndarray
    expected_wait_days: np.ndarray
    capacity_trucks: np.ndarray
    capacity_people: np.ndarray
    humanitarian: np.ndarray
    document_regime: np.ndarray
    corridor: np.ndarray

    def __post_init__(self) -> None:
        for value in vars(self).values():
            value.setflags(write=False)


def fixed_gates(closures: GateClosures, settings: Scenario, people_per_agent: float) -> FixedGates:
    """The gates' state, costs and unrounded capacities under ``settings`` and today's closures."""
    names = closures.gate_names
    is_open = np.array([closures.is_open(g, settings) for g in names])
    status_open = np.array(
        [settings.crossings[g].open or closures.is_corridor(g, settings) for g in names]
    )
    trucks = np.array([settings.crossings[g].capacity_trucks_per_day for g in names])
    people = np.array([settings.crossings[g].capacity_people_per_day for g in names])
    humanitarian = np.array(
        [settings.crossings[g].humanitarian_people_per_day for g in names], dtype=float
    )
    humanitarian[is_open] = 0.0
    temporarily_closed = status_open & ~is_open
    corridor = settings.corridor
    return FixedGates(
        open=is_open,
        trade_allowed=status_open & (trucks > 0),
        people_allowed=status_open & (people > 0),
        tariff=np.array([settings.crossings[g].tariff_pct / 100.0 for g in names]),
        processing_h=processing_hours(closures, settings),
        expected_wait_days=np.where(
            temporarily_closed, settings.traders.expected_closure_days, 0.0
        ),
        capacity_trucks=capacity_today(closures, settings, 1.0, trucks=True),
        capacity_people=capacity_today(closures, settings, people_per_agent, trucks=False),
        humanitarian=humanitarian,
        document_regime=np.array(
            [REGIME_CODE[settings.crossings[g].document_regime] for g in names], dtype=np.int8
        ),
        corridor=(
            np.array([names.index(g) for g in corridor.gates], dtype=np.int64)
            if corridor.enabled
            else np.zeros(0, dtype=np.int64)
        ),
    )


def capacity_today(
    closures: GateClosures, settings: Scenario, per_agent: float, *, trucks: bool
) -> np.ndarray:
    """Agents each gate can serve today (0 when closed), before probabilistic rounding."""
    capacity = np.zeros(len(closures.gate_names))
    for g, gate in enumerate(closures.gate_names):
        if not closures.is_open(gate, settings):
            continue
        crossing = settings.crossings[gate]
        base = float(
            crossing.capacity_trucks_per_day if trucks else crossing.capacity_people_per_day
        )
        base *= crossing.hours_open / HOURS_PER_DAY  # capacities are stated for a 24-hour day
        if closures.is_corridor(gate, settings):
            base *= settings.corridor.capacity_multiplier
        capacity[g] = base / per_agent
    return capacity


def processing_hours(closures: GateClosures, settings: Scenario) -> np.ndarray:
    """Processing time at each gate today (fast-track on corridor gates)."""
    hours = np.array([settings.crossings[g].processing_hours for g in closures.gate_names])
    for g, gate in enumerate(closures.gate_names):
        if closures.is_corridor(gate, settings):
            hours[g] *= settings.corridor.processing_factor
    return hours


def serve_queues(
    gate: np.ndarray, arrival_day: np.ndarray, capacity: np.ndarray, order_key: np.ndarray
) -> np.ndarray:
    """Which queued agents are served today: first come, first served at each gate.

    Args:
        gate: Gate index of each queued agent.
        arrival_day: Day each joined the queue.
        capacity: Whole agents each gate serves today.
        order_key: Tie-break within a day (e.g. agent id), so the result is deterministic.

    Returns:
        A boolean mask over the queued agents.
    """
    if gate.size == 0:
        return np.zeros(0, dtype=bool)
    order = queue_order(gate, arrival_day, order_key)
    sorted_gate = gate[order]
    # Each agent's place in its gate's queue: its position less where its gate's run begins.
    lowest = int(sorted_gate[0])
    counts = np.bincount(sorted_gate - lowest)
    starts = (np.cumsum(counts) - counts)[sorted_gate - lowest]
    rank = np.arange(gate.size) - starts
    served = np.zeros(gate.size, dtype=bool)
    served[order] = rank < capacity[sorted_gate]
    return served


def queue_order(gate: np.ndarray, arrival_day: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """The order ``np.lexsort((order_key, arrival_day, gate))`` gives, found faster.

    When ``order_key`` already rises along the queue (agent ids of rows in row order, as every
    caller passes them), a stable sort on (gate, arrival day) alone keeps it: packed into 16 bits
    when the ranges allow, that is numpy's radix sort, an order of magnitude faster than lexsort.
    Otherwise the three integer keys are packed into one ``int64`` (when their ranges fit) and
    sorted once; a plain sort is used when the packed keys are all distinct, else a stable one, so
    ties keep their order exactly as ``lexsort`` keeps them.
    """
    keys = [np.asarray(k, dtype=np.int64) for k in (gate, arrival_day, order_key)]
    if keys[0].size > 1 and np.all(keys[2][1:] > keys[2][:-1]):
        low_gate, low_day = int(keys[0].min()), int(keys[1].min())
        day_span = int(keys[1].max()) - low_day + 1
        packed = (keys[0] - low_gate) * day_span + (keys[1] - low_day)
        if (int(keys[0].max()) - low_gate + 1) * day_span <= 2**16:
            packed = packed.astype(np.uint16)
        return np.argsort(packed, kind="stable")
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - low + 1 for k, low in zip(keys, lows, strict=True)]
    if spans[0] * spans[1] * spans[2] >= 2**62:
        return np.lexsort((order_key, arrival_day, gate))
    packed = ((keys[0] - lows[0]) * spans[1] + (keys[1] - lows[1])) * spans[2] + (keys[2] - lows[2])
    order = np.argsort(packed)
    ranked = packed[order]
    if np.all(ranked[1:] != ranked[:-1]):
        return order
    return np.argsort(packed, kind="stable")
