"""Traders: trucks at the official gates, in real units (one agent is one truck at every scale).

**The fleet.** Each agent is one truck. It has a *usual gate*, drawn at the start from the published
truck shares of the gates (tolonews c.2021-22, a 3-day window: Torkham ≈35%, Chaman ≈26%, Ghulam
Khan ≈15%, Kharlachi ≈14%, Angoor Adda ≈10%), and it shuttles between market towns in that gate's
catchment on the two sides (a market's pull: its population to ``market_size_exponent``, damped by
its road time to the gate). The fleet is split between the gates in proportion to share times the
length of a round of that gate's trips, so that the *crossings* come out in the published shares.
With ``population.traders`` trucks the gates carry, both ways, loaded and empty: Torkham ~1,300 a
day on its 24-hour day (1,000-1,600 published) and ~750 on a 12-hour one (~700 published).

**What a truck carries** is drawn afresh for every trip (named assumptions, see the constants):

* *empty* (``EMPTY_SHARE``): trade is unbalanced and most trucks run back light;
* *Afghan transit* (``TRANSIT_SHARE``, ~100 containers a day at Torkham in 2017): counted in the
  gate's trucks but **not** in bilateral ``formal_trade_usd`` (transit trade is not modelled as
  trade: no value is counted for it);
* *a bilateral load*: bulk (coal, cement, flour, sugar), perishable (fruit, vegetables:
  ``PERISHABLE_SHARE``) or compact and high-value (cloth, electronics, medicines:
  ``COMPACT_SHARE``). A load is worth ``scale.usd_per_consignment`` on average, more through
  Torkham (``TORKHAM_VALUE_FACTOR``): customs put Torkham at ≈55% of the value with ≈35% of the
  trucks.

**Gate choice.** A truck with a bulk, perishable, transit or empty load drives to its usual gate
when that gate is open and not jammed (fewer than ``JAM_DAYS`` of its throughput queued
at it). Otherwise (gate closed, shut or jammed) it weighs every gate by expected cost: road time,
processing, tariff, queue ahead, the days a closed gate is expected to stay shut, and spoilage
for perishables, and gives up when every way costs more than its margin. Only a compact load may
go by pack train (bulk cannot: a truck of cement is dozens of animal loads), so compact loads
always weigh their usual gate against the informal crossing points (porters, bribes, seizure, the
fence); this is the fix of the "no fence triples formal trade" answer: smuggling can undercut the
gates only for the compact share, so a fence shifts at most that share to the gates.

**Stranding.** Trucks queued at a closed gate, on either side, are stranded (``stranded_trucks``,
by gate, counted each day). Each day a stranded truck reconsiders with
``redecide_probability_per_day``: keep waiting, divert to another open gate, turn back, or (compact
loads only) switch to a pack train. Traders expect a closure to last ``expected_closure_days``, or
as long again as it has already lasted if longer (assumption), so waiting grows dearer as a closure
drags on. Perishable loads lose ``PERISHABLE_LOSS_PER_DAY`` of their remaining value each day
they wait at a closed gate (``perishable_loss_usd``).

**Trade lost** (``trade_lost_usd``, by the gate the load was meant for): the bilateral value that
did not cross because a gate was closed: loads turned back (at the closed gate, or before setting
off because their usual gate was closed, or jammed by trucks diverted from a closed gate) or sent
by pack train instead, at the value they still had, plus what perishables lost while they waited.
A truck that turns back tries again after its turnaround, so each day of a closure loses that
day's loads. Loads that divert to another gate are not lost; empty and transit trucks lose no
bilateral trade.

Metrics: ``gate_trucks`` counts every truck that crosses a gate (loaded or empty, both ways);
``formal_consignments`` counts bilateral loads cleared; ``formal_trade_usd`` their value (after
spoilage); ``trader_wait_days_total`` their days in queue; ``trader_diversions`` and
``trader_switches_to_smuggling`` count the decisions of stranded trucks.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from borderabm.metrics import Dim, Tally
from borderabm.rules.gates import HOURS_PER_DAY as GATE_HOURS_PER_DAY
from borderabm.rules.gates import serve_queues
from borderabm.rules.population import (
    FOOT,
    HOURS_PER_DAY,
    VEHICLE,
    Journey,
    Travellers,
    gumbel,
    rows_where,
    state_names,
)
from borderabm.world.world import PK

if TYPE_CHECKING:
    from borderabm.rules.today import Places, Today
    from borderabm.scenario import Scenario


class TraderState(IntEnum):
    """Where a truck is (stored as ``int8`` in :attr:`Traders.state`)."""

    IDLE = 0
    TO_GATE = 1
    QUEUED = 2
    TO_MARKET = 3
    TO_POINT = 4
    SMUGGLING_TO_MARKET = 5


class Cargo(IntEnum):
    """What a truck carries on its current trip (stored as ``int8`` in :attr:`Traders.cargo`)."""

    EMPTY = 0
    TRANSIT = 1
    BULK = 2
    PERISHABLE = 3
    COMPACT = 4


# The rules below use the states by their short names, as plain ints: numpy compares an int8
# array with an IntEnum member by first casting it to int64 (about 8x slower).
IDLE, TO_GATE, QUEUED, TO_MARKET, TO_POINT, SMUGGLING_TO_MARKET = map(int, TraderState)
EMPTY, TRANSIT, BULK, PERISHABLE, COMPACT = map(int, Cargo)
STATES = state_names(TraderState)
BILATERAL = (BULK, PERISHABLE, COMPACT)

# Assumption: route preferences vary between traders by ~2% of the load's value.
CHOICE_NOISE_SHARE = 0.02
VALUE_SIGMA = 0.5  # lognormal spread of load values

# Truck shares of the gates, c.2021-22 (tolonews.com business-175512, a 3-day window: Torkham
# 1,450, Chaman 1,094, Ghulam Khan 618, Kharlachi 564, Angoor Adda 410 trucks).
PUBLISHED_TRUCK_SHARES = {
    "Torkham": 1450.0,
    "Chaman": 1094.0,
    "Ghulam Khan": 618.0,
    "Kharlachi": 564.0,
    "Angoor Adda": 410.0,
}
# Assumption: a gate open to trucks but not in that count (Arandu, Badini) carries ~1% of them.
MINOR_GATE_SHARE = 41.0
# Assumption: what a trip carries. Pakistan's exports to Afghanistan are ~2.3x its imports (customs
# FY2025: US$1.39 bn vs 0.61 bn), so many trucks run back empty; customs speak of "loaded and
# empty trucks" (thenews.com.pk/print/965908). Transit: ~100-110 ATT containers a day at Torkham
# (pakobserver 2017-02-22) of ~1,000 trucks.
EMPTY_SHARE = 0.40
TRANSIT_SHARE = 0.10
# Assumption: of the bilateral loads, fruit and vegetables are perishable (Afghan exports are
# mostly fruit, vegetables and coal; Pakistan's include kinnow, potatoes, tomatoes), and only a
# small share is compact and valuable enough to go by pack train (cloth, electronics, medicines).
PERISHABLE_SHARE = 0.25
COMPACT_SHARE = 0.10
# Assumption: a compact truck load goes over the line as a pack train of about ten animals, each
# with its driver or porter; under lethal force each of them risks being shot when it is stopped.
PACK_TRAIN_PEOPLE = 10
# Assumption: unrefrigerated fresh produce loses ~10% of its value a day in a stalled truck.
PERISHABLE_LOSS_PER_DAY = 0.10
# DERIVED: Torkham carries ≈55% of bilateral value (≈US$3m of ≈US$5.5m a day, customs 2025) with
# ≈35% of the trucks, so a load through Torkham is worth 0.55/0.35 / (0.45/0.65) ≈ 2.3x a load
# through the other gates (which carry coal and empties).
TORKHAM_VALUE_FACTOR = (0.55 / 0.35) / (0.45 / 0.65)
# Assumption: a market's pull on a gate's trucks halves every ~4 hours of road from the gate.
CATCHMENT_HOURS = 6.0
# Assumption: a driver looks at other gates when more than a day and a half of the gate's
# throughput waits at it (trucks arriving in a day are cleared the next, so a day's worth is normal).
JAM_DAYS = 1.5
# Assumption: a gate other than a truck's usual one costs about three days of truck time more than
# the road: documents re-filed at another customs station, another clearing agent, escorts through
# the tribal districts. This is why a Torkham closure strands trucks rather than moving them all.
DIVERSION_DAYS = 6.0


class Traders(Travellers):
    """All trucks, as arrays."""

    kind = "trader"
    states = STATES
    moving = (TO_GATE, TO_MARKET, TO_POINT, SMUGGLING_TO_MARKET)

    def on_a_leg_mask(self) -> np.ndarray:
        """Which trucks are travelling today (every state but idle and queued; faster than isin)."""
        return (self.state != IDLE) & (self.state != QUEUED)

    def populate(self, places: Places, settings: Scenario) -> None:
        """Give each truck a usual gate, a market in its catchment, a load value and a rest."""
        world, routes, rng, count = places.world, places.routes, self.rng, self.n
        traders = settings.traders
        market_towns = [i for i, t in enumerate(world.towns) if t.market]
        self.market_node = routes.towns[market_towns]
        self.market_cell = routes.node_flat[self.market_node]
        self.market_side = world.country.ravel()[self.market_cell]
        gate_names = [crossing.name for crossing in world.crossings]
        self.gate_names = tuple(gate_names)
        n_gates = len(gate_names)

        # Each gate's catchment: bigger and nearer markets on each side send and draw more trucks.
        populations = np.array([world.towns[i].population for i in market_towns], dtype=float)
        vehicle = routes.hours(VEHICLE)
        hours = vehicle[np.ix_(routes.gates, self.market_cell)]  # gate x market
        pull = populations[None, :] ** traders.market_size_exponent * np.exp(
            -np.where(np.isfinite(hours), hours, np.inf) / CATCHMENT_HOURS
        )
        self._catchment_cdf = np.zeros((n_gates, 2, len(market_towns)))
        for side in (0, 1):  # 0: Afghanistan, 1: Pakistan
            on_side = (self.market_side == PK) == bool(side)
            weights = np.where(on_side[None, :], pull, 0.0)
            weights[weights.sum(axis=1) == 0] = on_side  # no reachable market: any on the side
            cdf = np.cumsum(weights, axis=1)
            self._catchment_cdf[:, side] = cdf / cdf[:, -1:]
        # The same distribution functions, [market, gate * 2 + side], for _draw_market's count.
        self._catchment_by_market = np.ascontiguousarray(
            self._catchment_cdf.reshape(n_gates * 2, -1).T
        )
        cdf = self._catchment_cdf
        self._catchment_countable = bool(np.all(cdf[..., -1] == 1.0) and np.all(np.diff(cdf) >= 0))

        # The fleet: crossings in the published shares, so trucks in proportion to share x round.
        share = np.array(
            [
                PUBLISHED_TRUCK_SHARES.get(name, MINOR_GATE_SHARE)
                if settings.crossings[name].open
                and settings.crossings[name].capacity_trucks_per_day
                else 0.0
                for name in gate_names
            ]
        )
        if share.sum() == 0:
            share = np.ones(n_gates)
        share /= share.sum()
        self.home_gate = rng.choice(
            n_gates, size=count, p=_fleet_split(share, self, hours, settings)
        )
        start_side = rng.integers(0, 2, size=count)
        self.market = self._draw_market(self.home_gate, start_side)
        self.destination = np.full(count, -1, dtype=np.int64)

        factor = np.array([TORKHAM_VALUE_FACTOR if n == "Torkham" else 1.0 for n in gate_names])
        factor /= (share * factor).sum() or 1.0  # the mean load over the crossings is the scale's
        mean = settings.scale.usd_per_consignment * factor[self.home_gate]
        self.value_usd = mean * rng.lognormal(-0.5 * VALUE_SIGMA**2, VALUE_SIGMA, size=count)
        self.cargo = np.zeros(count, dtype=np.int8)
        self.spoiled = np.zeros(count, dtype=np.float32)  # share of the load's value lost
        self.gate = np.full(count, -1, dtype=np.int64)
        self.point = np.full(count, -1, dtype=np.int64)
        self.queued_since = np.zeros(count, dtype=np.int64)
        self.rest_days = rng.uniform(0, traders.turnaround_days + 1.0, size=count)
        self.closed_days = np.zeros(n_gates, dtype=np.int64)  # how long each gate has been shut
        self._queue_today = np.zeros(n_gates)
        self._stated_capacity: tuple[Scenario, np.ndarray] | None = None
        self.journey = Journey.empty(count)

    def _draw_market(self, gate: np.ndarray, side: np.ndarray) -> np.ndarray:
        """A market on ``side`` (0 Afghanistan, 1 Pakistan) in each ``gate``'s catchment."""
        u = self.rng.random(gate.size)
        if not self._catchment_countable:
            return np.argmax(u[:, None] < self._catchment_cdf[gate, side], axis=1).astype(np.int64)
        # The first market whose cdf exceeds u is the count of markets whose cdf does not (the
        # cdfs rise and end at 1 > u): the same index, counted a market at a time, which is
        # several times faster than building the [truck, market] comparison.
        column = gate * 2 + side
        chosen = np.zeros(gate.size, dtype=np.int64)
        for cdf in self._catchment_by_market[:-1]:
            chosen += cdf[column] <= u
        return chosen

    # ------------------------------------------------------------------------------------------
    def step(self, today: Today) -> None:
        """One day of trucking."""
        settings = today.settings.traders
        rng = self.rng
        self.closed_days = np.where(today.gates.open, 0, self.closed_days + 1)
        # Setting off changes no queue, so the rows queued now are those the gates serve.
        queued = rows_where(self.state == QUEUED)
        self._queue_today = self._queue_days(today, queued)  # the queues as drivers hear of them
        self.rest_days -= 1.0
        idle = rows_where((self.state == IDLE) & (self.rest_days <= 0))
        starting = idle[rng.random(idle.size) < settings.trip_probability_per_day]
        if starting.size:
            self._set_off(today, starting)

        queued = self._serve_gates(today, queued)
        stuck = queued[~today.gates.open[self.gate[queued]]]
        reconsider = stuck[rng.random(stuck.size) < settings.redecide_probability_per_day]
        if reconsider.size:
            gate_cells = today.gate_flat_cells[self.gate[reconsider]]
            self._choose_route(today, reconsider, gate_cells, waiting_gate=self.gate[reconsider])
        self._travel(today)
        self._strand(today)

    def _set_off(self, today: Today, rows: np.ndarray) -> None:
        """Load (or not), pick a destination across the line, and head for a gate."""
        rng = self.rng
        u = rng.random(rows.size)
        kind = rng.random(rows.size)
        # The first rule that holds decides (as np.select would, faster): set from the last rule
        # to the first, each overwriting the ones after it.
        cargo = np.full(rows.size, BULK, dtype=np.int64)
        cargo[kind < COMPACT_SHARE + PERISHABLE_SHARE] = PERISHABLE
        cargo[kind < COMPACT_SHARE] = COMPACT
        cargo[u < EMPTY_SHARE + TRANSIT_SHARE] = TRANSIT
        cargo[u < EMPTY_SHARE] = EMPTY
        self.cargo[rows] = cargo
        self.spoiled[rows] = 0.0
        market = self.market[rows]
        here_side = (self.market_side[market] == PK).astype(np.int64)
        home = self.home_gate[rows]
        self.destination[rows] = self._draw_market(home, 1 - here_side)
        here = self.market_cell[market]

        gates = today.gates
        # Whether each gate is free (open, taking trucks, not jammed), then each truck's usual one.
        usual_free = (gates.open & gates.trade_allowed & (self._queue_today <= JAM_DAYS))[home]
        direct = usual_free & (cargo != COMPACT)
        go = rows[direct]
        to_gates, _ = self._market_hours(today)
        if go.size:
            gate = home[direct]
            self._head_for_gates(today, go, gate, here[direct],
                                 hours=to_gates[gate, market[direct]])  # fmt: skip
        weigh = ~direct
        # Compact loads weigh only their usual gate against smuggling while it is free.
        only_usual = np.where(usual_free[weigh], home[weigh], -1)
        self._choose_route(today, rows[weigh], here[weigh], waiting_gate=None,
                           only_gate=only_usual, here_market=market[weigh])  # fmt: skip

    def _queue_days(self, today: Today, ahead: np.ndarray) -> np.ndarray:
        """Days of each gate's throughput queued at it (``ahead``: the queued trucks' rows)."""
        n_gates = today.gates.open.size
        waiting = np.bincount(self.gate[ahead], minlength=n_gates)
        return waiting / self._nominal_capacity(today)

    def _nominal_capacity(self, today: Today) -> np.ndarray:
        """Trucks each gate passes on a working day (at least one, to divide by)."""
        held = self._stated_capacity
        if held is None or held[0] is not today.settings:  # the settings are frozen: known by id
            crossings = today.settings.crossings
            stated = np.array(
                [
                    crossings[n].capacity_trucks_per_day * crossings[n].hours_open
                    for n in self.gate_names
                ]
            )
            held = self._stated_capacity = (today.settings, stated / GATE_HOURS_PER_DAY)
        stated = held[1]
        return np.maximum(np.maximum(stated, today.gates.capacity_trucks), 1.0)

    def _head_for_gates(
        self,
        today: Today,
        rows: np.ndarray,
        gate: np.ndarray,
        here: np.ndarray,
        hours: np.ndarray | None = None,
    ) -> None:
        """Drive ``rows`` from ``here`` to ``gate`` (``hours``: the road hours, if known)."""
        nodes = today.routes.gates[gate]
        self.gate[rows] = gate
        self.state[rows] = TO_GATE
        if hours is None:  # the gates' rows of the vehicle field (a block a sixth the size)
            hours = today.routes.gate_hours(VEHICLE)[gate, here]
        self.journey.start(rows, nodes, here, hours, VEHICLE)

    def _choose_route(
        self,
        today: Today,
        rows: np.ndarray,
        here: np.ndarray,
        waiting_gate: np.ndarray | None,
        only_gate: np.ndarray | None = None,
        here_market: np.ndarray | None = None,
    ) -> None:
        """Pick a gate, a pack train or giving up for ``rows`` standing at flat cells ``here``.

        Args:
            today: The day.
            rows: The trucks deciding.
            here: Where each stands (flat cell).
            waiting_gate: The closed gate each is stranded at, or None for trucks setting off.
            only_gate: For trucks setting off, the one gate each may use (-1: any gate).
            here_market: For trucks standing at markets, which market each is at (their hours are
                read from the small market tables of :meth:`_market_hours`).
        """
        if rows.size == 0:
            return
        routes, rng, gates = today.routes, self.rng, today.gates
        traders = today.settings.traders
        value = self.value_usd[rows]
        cargo = self.cargo[rows]
        bilateral = cargo >= BULK
        load = np.where(bilateral, value * (1.0 - self.spoiled[rows]), 0.0)
        perishable = cargo == PERISHABLE
        destination = self.destination[rows]
        gate_market, point_market = self._market_hours(today)
        per_day = traders.time_cost_usd_per_day
        foot = routes.hours(FOOT)
        n_gates = len(routes.gates)
        columns = np.arange(rows.size)

        # Traders expect a closure to last its usual length, or as long again as it has lasted.
        shut_days = np.where(
            gates.expected_wait_days > 0,
            np.maximum(gates.expected_wait_days, self.closed_days),
            0.0,
        )
        wait_days = shut_days + self._queue_today
        if here_market is None:
            here_hours = np.take(routes.gate_hours(VEHICLE), here, axis=1)
        else:
            here_hours = np.take(gate_market, here_market, axis=1)
        road_hours = here_hours + np.take(gate_market, destination, axis=1)
        formal = (road_hours + gates.processing_h[:, None]) / 24.0 * per_day
        formal += gates.tariff[:, None] * load[None, :]
        formal += wait_days[:, None] * per_day
        usual = np.arange(n_gates)[:, None] == self.home_gate[rows][None, :]
        formal += np.where(usual, 0.0, DIVERSION_DAYS * per_day)
        formal += (perishable * load)[None, :] * (
            1.0 - (1.0 - PERISHABLE_LOSS_PER_DAY) ** shut_days[:, None]
        )
        formal[~gates.trade_allowed] = np.inf
        if only_gate is not None:
            restricted = only_gate >= 0
            keep = np.arange(n_gates)[:, None] == only_gate[None, :]
            formal[:, restricted] = np.where(keep[:, restricted], formal[:, restricted], np.inf)
        if waiting_gate is not None:  # staying put costs no road: only the wait and the duties
            stay = (wait_days[waiting_gate] * per_day + gates.tariff[waiting_gate] * load
                    + perishable * load * (1.0 - (1.0 - PERISHABLE_LOSS_PER_DAY)
                                           ** shut_days[waiting_gate]))  # fmt: skip
            # A gate shut for good (not a temporary closure) is not worth waiting at.
            stay[~gates.trade_allowed[waiting_gate]] = np.inf
            formal[waiting_gate, columns] = stay

        # Only compact loads can go by pack train: a truck of bulk is dozens of animal loads.
        points = routes.informal
        if here_market is None:
            here_hours = np.take(routes.informal_hours(FOOT), here, axis=1)
        else:
            here_hours = np.take(point_market, here_market, axis=1)
        pack_hours = here_hours + np.take(point_market, destination, axis=1)
        pack_hours = pack_hours * traders.smuggling_speed_factor
        informal = pack_hours / 24.0 * per_day + traders.smuggling_cost_share * load[None, :]
        seizure = today.points.detection * traders.seizure_given_detection
        informal += seizure[:, None] * load[None, :]
        informal += (today.points.fence * today.settings.fence.breach_hours / 24.0)[
            :, None
        ] * per_day
        informal[:, cargo != COMPACT] = np.inf

        costs = np.vstack([formal, informal])
        costs = costs + gumbel(rng, costs.shape, 1.0) * (CHOICE_NOISE_SHARE * value)[None, :]
        best = np.argmin(costs, axis=0)
        best_cost = costs[best, columns]
        gives_up = ~(best_cost < traders.margin_share * value)

        formal_rows = ~gives_up & (best < n_gates)
        informal_rows = ~gives_up & (best >= n_gates)
        metrics = today.metrics
        if waiting_gate is None:
            # A closure is the reason a load stays home or goes by pack train when it shuts the
            # usual gate, or when the usual gate is jammed while another gate is shut (trucks
            # diverted from the closed gate fill it).
            home = self.home_gate[rows]
            shut = gates.trade_allowed & ~gates.open
            jammed = self._queue_today[home] > JAM_DAYS
            closed_gate = np.where(shut[home] | (jammed & shut.any()), home, -1)
        else:
            closed_gate = waiting_gate
            moved = best != waiting_gate
            metrics.add(Tally.TRADER_DIVERSIONS, int(np.count_nonzero(formal_rows & moved)))
            metrics.add(Tally.TRADER_SWITCHES_TO_SMUGGLING, int(np.count_nonzero(informal_rows)))
            # Those who keep waiting stay queued as they are.
            formal_rows &= moved
        metrics.add(Tally.TRADES_GIVEN_UP, int(np.count_nonzero(gives_up)))
        lost = (gives_up | informal_rows) & bilateral & (closed_gate >= 0)
        if lost.any():
            metrics.add(Tally.TRADE_LOST_USD, float(load[lost].sum()))
            metrics.add_by(Tally.TRADE_LOST_USD, Dim.GATE, closed_gate[lost], load[lost])

        done = rows[gives_up]
        self._rest(done, traders.turnaround_days)

        to_gate = rows[formal_rows]
        if to_gate.size:
            self._head_for_gates(today, to_gate, best[formal_rows], here[formal_rows])

        to_point = rows[informal_rows]
        if to_point.size:
            chosen = best[informal_rows] - n_gates
            self.point[to_point] = chosen
            self.gate[to_point] = -1
            self.state[to_point] = TO_POINT
            self.journey.start(to_point, points[chosen], here[informal_rows],
                               foot[points[chosen], here[informal_rows]], FOOT,
                               slowdown=traders.smuggling_speed_factor)  # fmt: skip

    def _serve_gates(self, today: Today, queued: np.ndarray) -> np.ndarray:
        """Serve the queues (``queued``: the queued trucks' rows); return the rows still queued."""
        if queued.size == 0:
            return queued
        capacity = today.gates.capacity_trucks
        served_mask = serve_queues(self.gate[queued], self.queued_since[queued], capacity,
                                   self.ids[queued])  # fmt: skip
        served = queued[served_mask]
        if served.size == 0:
            return queued
        still_queued = queued[~served_mask]
        gate = self.gate[served]
        metrics = today.metrics
        metrics.add(Tally.GATE_TRUCKS, int(served.size))
        metrics.add_by(Tally.GATE_TRUCKS, Dim.GATE, gate, np.ones(served.size))
        loaded = self.cargo[served] >= BULK
        trade = served[loaded]
        trade_gate = gate[loaded]
        value = self.value_usd[trade] * (1.0 - self.spoiled[trade])
        waits = today.day - self.queued_since[trade]
        metrics.add(Tally.FORMAL_TRADE_USD, float(value.sum()))
        metrics.add(Tally.FORMAL_CONSIGNMENTS, int(trade.size))
        metrics.add(Tally.TRADER_WAIT_DAYS_TOTAL, float(waits.sum()))
        metrics.add_by(Tally.FORMAL_TRADE_USD, Dim.GATE, trade_gate, value)
        metrics.add(Tally.TARIFF_REVENUE_USD, float((today.gates.tariff[trade_gate] * value).sum()))
        destination = self.destination[served]
        destination_node = self.market_node[destination]
        gate_cells = today.gate_flat_cells[gate]
        road = self._market_gate_hours(today)[destination, gate]
        hours = today.gates.processing_h[gate] + road
        self.state[served] = TO_MARKET
        self.journey.start(served, destination_node, gate_cells, hours, VEHICLE)
        return still_queued

    def _market_hours(self, today: Today) -> tuple[np.ndarray, np.ndarray]:
        """Road hours to each gate and walking hours to each informal point from each market.

        ``[gate, market]`` and ``[point, market]``: the route fields' values at the market towns,
        made once (read-only), so that trucks at markets look them up in two small tables rather
        than in the whole fields.
        """
        held = getattr(self, "_market_hours_held", None)
        if held is None or held[0] is not today.routes:
            routes = today.routes
            tables = (
                np.take(routes.gate_hours(VEHICLE), self.market_cell, axis=1),
                np.take(routes.informal_hours(FOOT), self.market_cell, axis=1),
            )
            for table in tables:
                table.setflags(write=False)
            held = self._market_hours_held = (routes, tables)
        return held[1]

    def _market_gate_hours(self, today: Today) -> np.ndarray:
        """Road hours to each market from each gate, ``[market, gate]`` (made once, read-only).

        The vehicle field's values for the few pairs that trucks leaving a gate ever drive: a small
        table to look them up in, rather than the whole field.
        """
        held = getattr(self, "_market_gate_hours_held", None)
        if held is None or held[0] is not today.gate_flat_cells:
            vehicle = today.routes.hours(VEHICLE)
            table = vehicle[np.ix_(self.market_node, today.gate_flat_cells)]
            table.setflags(write=False)
            held = self._market_gate_hours_held = (today.gate_flat_cells, table)
        return held[1]

    def _strand(self, today: Today) -> None:
        """Count the trucks stranded at closed gates tonight; their perishables spoil."""
        metrics = today.metrics
        queued = rows_where(self.state == QUEUED)
        metrics.add(Tally.TRADERS_QUEUED, int(queued.size))
        stranded = queued[~today.gates.open[self.gate[queued]]]
        metrics.add(Tally.STRANDED_TRUCKS, int(stranded.size))
        if stranded.size == 0:
            return
        gate = self.gate[stranded]
        metrics.add_by(Tally.STRANDED_TRUCKS, Dim.GATE, gate, np.ones(stranded.size))
        rotting = self.cargo[stranded] == PERISHABLE
        rows, gate = stranded[rotting], gate[rotting]
        if rows.size == 0:
            return
        loss = self.value_usd[rows] * (1.0 - self.spoiled[rows]) * PERISHABLE_LOSS_PER_DAY
        self.spoiled[rows] = 1.0 - (1.0 - self.spoiled[rows]) * (1.0 - PERISHABLE_LOSS_PER_DAY)
        metrics.add(Tally.PERISHABLE_LOSS_USD, float(loss.sum()))
        metrics.add(Tally.TRADE_LOST_USD, float(loss.sum()))
        metrics.add_by(Tally.TRADE_LOST_USD, Dim.GATE, gate, loss)

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
        self._rest(delivered, today.settings.traders.turnaround_days)

        at_point = arrived[state == TO_POINT]
        if at_point.size:
            outcome = today.points.attempt(
                self.point[at_point], today.settings, rng, can_breach=True, civilian=True,
                stop_probability=today.settings.traders.seizure_given_detection,
                people=PACK_TRAIN_PEOPLE,
            )  # fmt: skip
            value = self.value_usd[at_point] * (1.0 - self.spoiled[at_point])
            metrics = today.metrics
            metrics.add(Tally.INFORMAL_TRADE_USD, float(value[outcome.crossed].sum()))
            metrics.add(Tally.SMUGGLING_SEIZURES_USD, float(value[outcome.interdicted].sum()))
            metrics.add(Tally.FENCE_BREACHES, int(outcome.breached.sum()))
            metrics.add(Tally.BORDER_DEATHS, int(outcome.deaths.sum()))
            sectors = today.points.sector[self.point[at_point]]
            metrics.add_by(Tally.INFORMAL_TRADE_USD, Dim.SECTOR, sectors[outcome.crossed],
                           value[outcome.crossed])  # fmt: skip
            metrics.add_by(Tally.BORDER_DEATHS, Dim.SECTOR, sectors, outcome.deaths)
            crossed = at_point[outcome.crossed]
            foot = today.routes.hours(FOOT)
            point_cells = today.points.flat_cells[self.point[crossed]]
            destination_node = self.market_node[self.destination[crossed]]
            self.state[crossed] = SMUGGLING_TO_MARKET
            self.journey.start(crossed, destination_node, point_cells,
                               foot[destination_node, point_cells], FOOT,
                               slowdown=today.settings.traders.smuggling_speed_factor)  # fmt: skip
            lost = at_point[~outcome.crossed]  # seized or turned back: the trip is over
            self._rest(lost, today.settings.traders.turnaround_days)

    def _rest(self, rows: np.ndarray, days: float) -> None:
        self.state[rows] = IDLE
        self.destination[rows] = -1
        self.gate[rows] = -1
        self.journey.node[rows] = -1
        self.rest_days[rows] = days

    # ------------------------------------------------------------------------------------------
    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every truck."""
        cells = self.market_cell[self.market].astype(np.int64)
        queued = self.state == QUEUED
        cells[queued] = places.gate_flat_cells[self.gate[queued]]
        return self.with_travellers(cells, places)


def _fleet_split(
    share: np.ndarray, traders: Traders, hours: np.ndarray, settings: Scenario
) -> np.ndarray:
    """Share of the fleet based at each gate: its share of crossings times the days of its round.

    A round is a rest, the wait for a load, the drive to the gate and the drive on across the line
    (whole days of ``HOURS_PER_DAY[VEHICLE]`` driving each), from the gate's catchment markets.
    """
    params = settings.traders
    pdf = np.diff(traders._catchment_cdf, axis=2, prepend=0.0)  # gate x side x market
    drive = np.where(np.isfinite(hours), hours, 0.0)[:, None, :]
    processing = np.array([settings.crossings[c].processing_hours for c in traders.gate_names])
    day = HOURS_PER_DAY[VEHICLE]
    to_gate = (pdf * np.maximum(np.ceil(drive / day), 1.0)).sum(axis=2).mean(axis=1)
    onward = (
        (pdf * np.maximum(np.ceil((drive + processing[:, None, None]) / day), 1.0))
        .sum(axis=2)
        .mean(axis=1)
    )
    wait_for_load = 1.0 / max(params.trip_probability_per_day, 1e-3)
    rounds = params.turnaround_days + wait_for_load + to_gate + onward - 1.0
    split = share * rounds
    return split / split.sum()
