"""Traders: consignments moved between market towns on both sides of the border.

Each agent is one consignment (a truck load worth ``scale.usd_per_consignment`` on average). An idle
consignment at a market sets off, with a daily probability, for a market on the other side and picks
the cheapest way across by expected cost (seed 001: closures and porosity feed "smuggling and informal
trade"; the choice rule is an assumption):

* **formal**, through an open gate: road time, queue, processing, tariff, and — at a temporarily
  closed gate — the days it is expected to stay closed;
* **informal**, through an informal crossing point: slow pack-train time, porters and bribes, and the
  value at risk of seizure by patrols there;
* **give up**: when every way costs more than the trade's margin.

A consignment stuck at a closed gate reconsiders each day with some probability: keep waiting, divert
to another gate, switch to smuggling, or give up.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from borderabm.metrics import Dim, Tally
from borderabm.rules.gates import serve_queues
from borderabm.rules.population import (
    FOOT,
    VEHICLE,
    Journey,
    Travellers,
    choose_on_sides,
    gumbel,
    other_side,
    state_names,
)
from borderabm.world.world import AF, PK

if TYPE_CHECKING:
    from borderabm.rules.today import Places, Today
    from borderabm.scenario import Scenario


class TraderState(IntEnum):
    """Where a consignment is (stored as ``int8`` in :attr:`Traders.state`)."""

    IDLE = 0
    TO_GATE = 1
    QUEUED = 2
    TO_MARKET = 3
    TO_POINT = 4
    SMUGGLING_TO_MARKET = 5


# The rules below use the states by their short names, as plain ints: numpy compares an int8
# array with an IntEnum member by first casting it to int64 (about 8x slower).
IDLE, TO_GATE, QUEUED, TO_MARKET, TO_POINT, SMUGGLING_TO_MARKET = map(int, TraderState)
STATES = state_names(TraderState)
# Assumption: route preferences vary between traders by ~2% of the consignment's value.
CHOICE_NOISE_SHARE = 0.02
VALUE_SIGMA = 0.5  # lognormal spread of consignment values


class Traders(Travellers):
    """All trader consignments, as arrays."""

    kind = "trader"
    states = STATES
    moving = (TO_GATE, TO_MARKET, TO_POINT, SMUGGLING_TO_MARKET)

    def populate(self, places: Places, settings: Scenario) -> None:
        """Put each consignment at a market (bigger markets hold more) with a value and a rest."""
        world, routes, rng, count = places.world, places.routes, self.rng, self.n
        market_towns = [i for i, t in enumerate(world.towns) if t.market]
        self.market_node = routes.towns[market_towns]
        self.market_cell = routes.node_flat[self.market_node]
        self.market_side = world.country.ravel()[self.market_cell]
        # A gravity model: bigger markets send and draw more consignments.
        populations = np.array([world.towns[i].population for i in market_towns], dtype=float)
        weights = populations**settings.traders.market_size_exponent
        self.market_weight = weights / weights.sum()
        self.market = rng.choice(len(market_towns), size=count, p=self.market_weight)
        self.destination = np.full(count, -1, dtype=np.int64)
        mean = settings.scale.usd_per_consignment
        self.value_usd = mean * rng.lognormal(-0.5 * VALUE_SIGMA**2, VALUE_SIGMA, size=count)
        self.gate = np.full(count, -1, dtype=np.int64)
        self.point = np.full(count, -1, dtype=np.int64)
        self.queued_since = np.zeros(count, dtype=np.int64)
        self.rest_days = rng.uniform(0, settings.traders.turnaround_days, size=count)
        self.journey = Journey.empty(count)

    # ------------------------------------------------------------------------------------------
    def step(self, today: Today) -> None:
        """One day of trade."""
        settings = today.settings.traders
        rng = self.rng
        self.rest_days -= 1.0
        idle = np.flatnonzero((self.state == IDLE) & (self.rest_days <= 0))
        starting = idle[rng.random(idle.size) < settings.trip_probability_per_day]
        if starting.size:
            self.destination[starting] = self._pick_destination(starting)
            here = self.market_cell[self.market[starting]]
            self._choose_route(today, starting, here, waiting_gate=None)

        self._serve_gates(today)
        queued = np.flatnonzero(self.state == QUEUED)
        stuck = queued[~today.gates.open[self.gate[queued]]]
        reconsider = stuck[rng.random(stuck.size) < settings.redecide_probability_per_day]
        if reconsider.size:
            gate_cells = today.gate_flat_cells[self.gate[reconsider]]
            self._choose_route(today, reconsider, gate_cells, waiting_gate=self.gate[reconsider])
        self._travel(today)
        today.metrics.add(Tally.TRADERS_QUEUED, int(np.count_nonzero(self.state == QUEUED)))

    def _pick_destination(self, rows: np.ndarray) -> np.ndarray:
        """A market on the other side, weighted by size."""
        wanted = other_side(self.market_side[self.market[rows]])
        # Consignments from Afghan markets draw first, as they always have.
        return choose_on_sides(wanted, self.market_side, self.market_weight, self.rng, (PK, AF))

    def _choose_route(
        self,
        today: Today,
        rows: np.ndarray,
        here: np.ndarray,
        waiting_gate: np.ndarray | None,
    ) -> None:
        """Pick formal / informal / give up for ``rows`` standing at flat cells ``here``."""
        routes, rng = today.routes, self.rng
        traders = today.settings.traders
        value = self.value_usd[rows]
        destination_cell = self.market_cell[self.destination[rows]]
        per_day = traders.time_cost_usd_per_day
        gates = routes.gates
        vehicle, foot = routes.hours(VEHICLE), routes.hours(FOOT)

        road_hours = vehicle[np.ix_(gates, here)] + vehicle[np.ix_(gates, destination_cell)]
        formal = road_hours / 24.0 * per_day
        formal += (today.gates.processing_h[:, None] / 24.0) * per_day
        formal += today.gates.tariff[:, None] * value[None, :]
        formal += today.gates.expected_wait_days[:, None] * per_day
        formal[~today.gates.trade_allowed] = np.inf
        if waiting_gate is not None:  # staying put costs only the expected wait
            stay = (today.gates.expected_wait_days[waiting_gate] * per_day
                    + today.gates.tariff[waiting_gate] * value)  # fmt: skip
            # A gate shut for good (not a temporary closure) is not worth waiting at.
            stay[~today.gates.trade_allowed[waiting_gate]] = np.inf
            formal[waiting_gate, np.arange(rows.size)] = stay

        points = routes.informal
        pack_hours = foot[np.ix_(points, here)] + foot[np.ix_(points, destination_cell)]
        pack_hours = pack_hours * traders.smuggling_speed_factor
        informal = pack_hours / 24.0 * per_day + traders.smuggling_cost_share * value[None, :]
        seizure = today.points.detection * traders.seizure_given_detection
        informal += seizure[:, None] * value[None, :]
        informal += (today.points.fence * today.settings.fence.breach_hours / 24.0)[
            :, None
        ] * per_day

        costs = np.vstack([formal, informal])
        costs = costs + gumbel(rng, costs.shape, 1.0) * (CHOICE_NOISE_SHARE * value)[None, :]
        best = np.argmin(costs, axis=0)
        best_cost = costs[best, np.arange(rows.size)]
        gives_up = ~(best_cost < traders.margin_share * value)

        n_gates = len(gates)
        formal_rows = ~gives_up & (best < n_gates)
        informal_rows = ~gives_up & (best >= n_gates)
        metrics = today.metrics
        if waiting_gate is not None:
            moved = best != waiting_gate
            metrics.add(Tally.TRADER_DIVERSIONS, int(np.count_nonzero(formal_rows & moved)))
            metrics.add(Tally.TRADER_SWITCHES_TO_SMUGGLING, int(np.count_nonzero(informal_rows)))
            # Those who keep waiting stay queued as they are.
            formal_rows &= moved
        metrics.add(Tally.TRADES_GIVEN_UP, int(np.count_nonzero(gives_up)))

        done = rows[gives_up]
        self.state[done] = IDLE
        self.destination[done] = -1
        self.rest_days[done] = traders.turnaround_days

        to_gate = rows[formal_rows]
        if to_gate.size:
            chosen = best[formal_rows]
            self.gate[to_gate] = chosen
            self.state[to_gate] = TO_GATE
            self.journey.start(to_gate, gates[chosen], here[formal_rows],
                               vehicle[gates[chosen], here[formal_rows]], VEHICLE)  # fmt: skip

        to_point = rows[informal_rows]
        if to_point.size:
            chosen = best[informal_rows] - n_gates
            self.point[to_point] = chosen
            self.gate[to_point] = -1
            self.state[to_point] = TO_POINT
            self.journey.start(to_point, points[chosen], here[informal_rows],
                               foot[points[chosen], here[informal_rows]], FOOT,
                               slowdown=traders.smuggling_speed_factor)  # fmt: skip

    def _serve_gates(self, today: Today) -> None:
        queued = np.flatnonzero(self.state == QUEUED)
        if queued.size == 0:
            return
        capacity = today.gates.capacity_trucks
        served = queued[serve_queues(self.gate[queued], self.queued_since[queued], capacity,
                                     self.ids[queued])]  # fmt: skip
        if served.size == 0:
            return
        gate = self.gate[served]
        value = self.value_usd[served]
        waits = today.day - self.queued_since[served]
        metrics = today.metrics
        metrics.add(Tally.FORMAL_TRADE_USD, float(value.sum()))
        metrics.add(Tally.FORMAL_CONSIGNMENTS, int(served.size))
        metrics.add(Tally.TRADER_WAIT_DAYS_TOTAL, float(waits.sum()))
        metrics.add_by(Tally.FORMAL_TRADE_USD, Dim.GATE, gate, value)
        metrics.add(Tally.TARIFF_REVENUE_USD, float((today.gates.tariff[gate] * value).sum()))
        vehicle = today.routes.hours(VEHICLE)
        destination_node = self.market_node[self.destination[served]]
        gate_cells = today.gate_flat_cells[gate]
        hours = today.gates.processing_h[gate] + vehicle[destination_node, gate_cells]
        self.state[served] = TO_MARKET
        self.journey.start(served, destination_node, gate_cells, hours, VEHICLE)

    def _travel(self, today: Today) -> None:
        rng = self.rng
        arrived = self.arrivals()
        if arrived.size == 0:
            return
        state = self.state[arrived]

        at_gate = arrived[state == TO_GATE]
        self.state[at_gate] = QUEUED
        self.queued_since[at_gate] = today.day

        delivered = arrived[(state == TO_MARKET) | (state == SMUGGLING_TO_MARKET)]
        self.market[delivered] = self.destination[delivered]
        self._rest(delivered, today)

        at_point = arrived[state == TO_POINT]
        if at_point.size:
            outcome = today.points.attempt(
                self.point[at_point], today.settings, rng, can_breach=True, civilian=True,
                stop_probability=today.settings.traders.seizure_given_detection,
            )  # fmt: skip
            value = self.value_usd[at_point]
            metrics = today.metrics
            metrics.add(Tally.INFORMAL_TRADE_USD, float(value[outcome.crossed].sum()))
            metrics.add(Tally.SMUGGLING_SEIZURES_USD, float(value[outcome.interdicted].sum()))
            metrics.add(Tally.FENCE_BREACHES, int(outcome.breached.sum()))
            metrics.add(Tally.BORDER_DEATHS, int(outcome.killed.sum()))
            sectors = today.points.sector[self.point[at_point]]
            metrics.add_by(Tally.INFORMAL_TRADE_USD, Dim.SECTOR, sectors[outcome.crossed],
                           value[outcome.crossed])  # fmt: skip
            crossed = at_point[outcome.crossed]
            foot = today.routes.hours(FOOT)
            point_cells = today.points.flat_cells[self.point[crossed]]
            destination_node = self.market_node[self.destination[crossed]]
            self.state[crossed] = SMUGGLING_TO_MARKET
            self.journey.start(crossed, destination_node, point_cells,
                               foot[destination_node, point_cells], FOOT,
                               slowdown=today.settings.traders.smuggling_speed_factor)  # fmt: skip
            lost = at_point[~outcome.crossed]  # seized or turned back: the trip is over
            self._rest(lost, today)

    def _rest(self, rows: np.ndarray, today: Today) -> None:
        self.state[rows] = IDLE
        self.destination[rows] = -1
        self.journey.node[rows] = -1
        self.rest_days[rows] = today.settings.traders.turnaround_days

    # ------------------------------------------------------------------------------------------
    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every consignment."""
        cells = self.market_cell[self.market].astype(np.int64)
        queued = self.state == QUEUED
        cells[queued] = places.gate_flat_cells[self.gate[queued]]
        return self.with_travellers(cells, places)
