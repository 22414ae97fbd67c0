"""Militants: cells based in sanctuaries in Afghanistan that infiltrate, attack in Pakistan, return.

Seeds 000 and 003: the TTP regroups and trains inside Afghanistan and attacks in Khyber Pakhtunkhwa
and Balochistan; more sanctuary capacity means more attacks (claim 4); porosity eases infiltration
(claim 1). Each agent is a cell of ``scale.fighters_per_cell`` fighters.

A based cell sets off with a daily hazard, picks a target town in the target provinces and the
informal crossing point with the lowest perceived cost — walking hours to the point and on to the
target, time to breach the fence there, and the organisation's estimate of the risk at that point
(weighted by ``risk_aversion_hours``), plus its own idiosyncratic preference (Gumbel noise). The
organisation learns: each day the risk estimate of every point used moves towards the share of cells
lost there (``learning_rate``), so pressure on one sector displaces crossings to others. A share of
infiltrations tries to hide in corridor cargo when a corridor runs; screening catches some.

At the target a cell waits a few days, attacks with ``attack_success``, and walks back the same way
(crossing again). Lost cells are replaced from the sanctuaries after ``replacement_days`` on average.

Groups based in Pakistan (Baloch nationalist insurgents, TTP cells living in Khyber Pakhtunkhwa)
attack without crossing: a Poisson number a day per province (``domestic_attacks_kp``,
``domestic_attacks_balochistan``) at a town of that province drawn at random. PIPS counts both kinds.

The conditions in force (``[conditions]``: military operations, the Taliban's sanctuary, a ceasefire)
multiply both the cells' infiltration hazard and the domestic attack rates by their strengths.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from borderabm.metrics import Dim, Tally
from borderabm.rules.population import (
    DAYS_PER_YEAR,
    FOOT,
    VEHICLE,
    Journey,
    Travellers,
    gumbel,
    state_names,
)
from borderabm.world.world import AF

if TYPE_CHECKING:
    from borderabm.rules.today import Places, Today
    from borderabm.scenario import Scenario


class MilitantState(IntEnum):
    """Where a cell is in its cycle (stored as ``int8`` in :attr:`Militants.state`)."""

    BASED = 0
    TO_POINT = 1
    TO_TARGET = 2
    AT_TARGET = 3
    RETURNING = 4
    LOST = 5


# The rules below use the states by their short names, as plain ints: numpy compares an int8
# array with an IntEnum member by first casting it to int64 (about 8x slower).
BASED, TO_POINT, TO_TARGET, AT_TARGET, RETURNING, LOST = map(int, MilitantState)
STATES = state_names(MilitantState)
CORRIDOR = -2  # point index of an infiltration hidden in corridor cargo
SANCTUARY_DEPTH_KM = 120.0  # assumption: cells shelter within this distance of the line
PRIOR_RISK = 0.2  # assumption: the organisation's initial risk estimate at every point
KP = "Khyber Pakhtunkhwa+Federally Administered Tribal Areas"
BALOCHISTAN = "Balochistan"


class Militants(Travellers):
    """All militant cells, as arrays."""

    kind = "militant"
    states = STATES
    moving = (TO_POINT, TO_TARGET, RETURNING)

    # The attacks of groups based in Pakistan draw from their own stream, which the model sets
    # (its own kind, so that how many cells set off never shifts them); a fresh one by default.
    domestic_rng: np.random.Generator

    def populate(self, places: Places, settings: Scenario) -> None:
        """Base the cells in the sanctuaries and list the towns they may strike."""
        seeds = self.rng.bit_generator.seed_seq
        assert isinstance(seeds, np.random.SeedSequence)  # every stream is made from one
        self.domestic_rng = np.random.default_rng(seeds.spawn(1)[0])
        world, routes, rng, count = places.world, places.routes, self.rng, self.n
        militants = settings.militants
        names = [p.name for p in world.provinces]
        sanctuary_ids = [names.index(n) for n in militants.sanctuaries if n in names]
        cells = np.flatnonzero(
            np.isin(world.province, sanctuary_ids).ravel()
            & (world.country.ravel() == AF)
            & (world.distance_to_border_km.ravel() <= SANCTUARY_DEPTH_KM)
            & np.isfinite(world.foot_hours_per_km.ravel())
        )
        self.base = rng.choice(cells, size=count) if cells.size else np.zeros(count, np.int64)
        target_ids = [names.index(n) for n in militants.targets if n in names]
        self.target_towns = np.array(
            [
                i
                for i, t in enumerate(world.towns)
                if t.country == "PK" and t.province in target_ids
            ],
            dtype=np.int64,  # an index array even when no town is a target
        )
        self.target_node = routes.towns[self.target_towns]
        self.target_flat = routes.node_flat[self.target_node]
        self.target_province = np.array([world.towns[i].province for i in self.target_towns])
        # Towns where groups based in Pakistan strike, by province (KP, then Balochistan); none in
        # a world without that province.
        self.domestic_province = np.array([names.index(p) if p in names else -1
                                           for p in (KP, BALOCHISTAN)])  # fmt: skip
        self.domestic_towns = [
            np.array([i for i, t in enumerate(world.towns)
                      if t.country == "PK" and t.province == p and p >= 0], dtype=np.int64)
            for p in self.domestic_province
        ]  # fmt: skip
        self.point = np.full(count, -1, dtype=np.int64)
        self.target = np.full(count, -1, dtype=np.int64)  # index into target_towns
        self.days_left = np.zeros(count)
        self.journey = Journey.empty(count)
        self.risk_estimate = np.full(len(places.points), PRIOR_RISK)
        if cells.size == 0 or self.target_towns.size == 0:
            self.state[:] = LOST  # nowhere to shelter or nothing to attack: inactive
            self.days_left[:] = np.inf

    # ------------------------------------------------------------------------------------------
    def step(self, today: Today) -> None:
        """One day of infiltration, attacks and returns."""
        rng = self.rng
        settings = today.settings.militants
        activity = today.settings.conditions.militancy_multiplier
        based = np.flatnonzero(self.state == BASED)
        leaving = based[
            rng.random(based.size) < settings.infiltrations_per_cell_year * activity / DAYS_PER_YEAR
        ]
        if leaving.size:
            self.target[leaving] = rng.integers(0, self.target_towns.size, size=leaving.size)
            destination = self.target_flat[self.target[leaving]]
            self._set_off(today, leaving, self.base[leaving], destination, TO_POINT)

        at_target = np.flatnonzero(self.state == AT_TARGET)
        self.days_left[at_target] -= 1.0
        striking = at_target[self.days_left[at_target] <= 0]
        if striking.size:
            self._attack(today, striking)

        self._domestic_attacks(today, activity)

        lost = np.flatnonzero(self.state == LOST)
        self.days_left[lost] -= 1.0
        back = lost[self.days_left[lost] <= 0]
        self.state[back] = BASED

        self._travel(today)

    def _set_off(self, today: Today, rows: np.ndarray, here: np.ndarray,
                 destination: np.ndarray, state: int) -> None:  # fmt: skip
        """Choose a crossing point (or corridor cargo) and walk there."""
        routes, rng, points = today.routes, self.rng, today.points
        settings = today.settings
        foot = routes.hours(FOOT)
        hours = foot[np.ix_(routes.informal, here)] + foot[np.ix_(routes.informal, destination)]
        breach = points.fence * settings.fence.breach_hours
        cost = (hours + breach[:, None]
                + self.risk_estimate[:, None] * settings.militants.risk_aversion_hours
                + gumbel(rng, hours.shape, settings.militants.choice_noise_hours))  # fmt: skip
        best = np.argmin(cost, axis=0)
        reachable = np.isfinite(cost[best, np.arange(rows.size)])

        corridor_gates = today.gates.corridor
        use_cargo = np.zeros(rows.size, dtype=bool)
        if corridor_gates.size and state == TO_POINT:
            use_cargo = rng.random(rows.size) < settings.militants.corridor_misuse_share
        go = rows[reachable & ~use_cargo]
        chosen = best[reachable & ~use_cargo]
        self.point[go] = chosen
        self.state[go] = state
        self.journey.start(
            go,
            routes.informal[chosen],
            here[reachable & ~use_cargo],
            foot[routes.informal[chosen], here[reachable & ~use_cargo]],
            FOOT,
        )

        cargo = rows[use_cargo]
        if cargo.size:
            vehicle = routes.hours(VEHICLE)
            via = vehicle[np.ix_(corridor_gates, here[use_cargo])]
            gate_choice = np.argmin(via, axis=0)
            self.point[cargo] = CORRIDOR
            self.state[cargo] = TO_POINT
            self.journey.start(
                cargo,
                corridor_gates[gate_choice],
                here[use_cargo],
                foot[corridor_gates[gate_choice], here[use_cargo]],
                FOOT,
            )
        # No way across: stay at the base, or (on the way back) slip home unseen — never stay put
        # at the target, which would mean another attack every day.
        stuck = rows[~reachable & ~use_cargo]
        self.state[stuck] = BASED

    def _travel(self, today: Today) -> None:
        arrived = self.arrivals()
        if arrived.size == 0:
            return
        state = self.state[arrived]
        self._cross(today, arrived[state == TO_POINT], inbound=True)
        self._cross(today, arrived[state == RETURNING], inbound=False)
        at_target = arrived[state == TO_TARGET]
        self.state[at_target] = AT_TARGET
        self.days_left[at_target] = today.settings.militants.days_at_target

    def _cross(self, today: Today, rows: np.ndarray, *, inbound: bool) -> None:
        if rows.size == 0:
            return
        rng, points, settings = self.rng, today.points, today.settings
        fighters = settings.scale.fighters_per_cell
        metrics = today.metrics
        cargo = rows[self.point[rows] == CORRIDOR]
        overland = rows[self.point[rows] != CORRIDOR]
        crossed_rows, lost_rows = [], []
        if cargo.size:
            caught = rng.random(cargo.size) < settings.corridor.screening
            metrics.add(Tally.CORRIDOR_MILITANTS_CAUGHT, int(caught.sum()) * fighters)
            metrics.add(Tally.CORRIDOR_MILITANT_CROSSINGS, int((~caught).sum()) * fighters)
            lost_rows.append(cargo[caught])
            crossed_rows.append(cargo[~caught])
        if overland.size:
            outcome = points.attempt(
                self.point[overland], settings, rng, can_breach=True, civilian=False
            )
            metrics.add(Tally.FENCE_BREACHES, int(outcome.breached.sum()))
            metrics.add(Tally.MILITANT_FENCE_BREACHES, int(outcome.breached.sum()))
            metrics.add(Tally.MILITANTS_KILLED, int(outcome.killed.sum()) * fighters)
            sectors = points.sector[self.point[overland]]
            metrics.add(Tally.MILITANT_INTERDICTIONS, int(outcome.interdicted.sum()) * fighters)
            metrics.add_by(Tally.MILITANT_INTERDICTIONS, Dim.SECTOR, sectors[outcome.interdicted],
                           np.full(int(outcome.interdicted.sum()), fighters))  # fmt: skip
            if inbound:
                metrics.add_by(Tally.MILITANT_CROSSINGS, Dim.SECTOR, sectors[outcome.crossed],
                               np.full(int(outcome.crossed.sum()), fighters))  # fmt: skip
            self._learn(overland, outcome.interdicted, settings.militants.learning_rate)
            lost_rows.append(overland[outcome.interdicted])
            crossed_rows.append(overland[outcome.crossed])  # militants breach: none is blocked
        crossed = np.concatenate(crossed_rows)
        lost = np.concatenate(lost_rows)
        if inbound:
            metrics.add(Tally.MILITANT_CROSSINGS, crossed.size * fighters)
        else:
            metrics.add(Tally.MILITANT_RETURNS, crossed.size * fighters)
        self._lose(today, lost)

        if not inbound:
            # Back across: the cell rests at its base (the walk home is not tracked cell by cell).
            self.state[crossed] = BASED
            self.journey.node[crossed] = -1
            return
        foot = today.routes.hours(FOOT)
        # Gates are the first nodes, so a cargo crosser's journey node is its gate's index.
        cargo_crossed = self.point[crossed] == CORRIDOR
        start = np.empty(crossed.size, dtype=np.int64)
        start[cargo_crossed] = today.gate_flat_cells[self.journey.node[crossed[cargo_crossed]]]
        start[~cargo_crossed] = points.flat_cells[self.point[crossed[~cargo_crossed]]]
        node = self.target_node[self.target[crossed]]
        self.state[crossed] = TO_TARGET
        self.journey.start(crossed, node, start, foot[node, start], FOOT)

    def _learn(self, rows: np.ndarray, lost: np.ndarray, rate: float) -> None:
        """Move the risk estimate of each point used today towards the share of cells lost there."""
        size = self.risk_estimate.size
        attempts = np.bincount(self.point[rows], minlength=size)
        losses = np.bincount(self.point[rows][lost], minlength=size)
        used = attempts > 0
        observed = losses[used] / attempts[used]
        self.risk_estimate[used] += rate * (observed - self.risk_estimate[used])

    def _attack(self, today: Today, rows: np.ndarray) -> None:
        settings = today.settings.militants
        success = self.rng.random(rows.size) < settings.attack_success
        attacks = rows[success]
        today.metrics.add(Tally.ATTACKS, attacks.size)
        province = self.target_province[self.target[attacks]]
        today.metrics.add_by(Tally.ATTACKS, Dim.PROVINCE, province, np.ones(attacks.size))
        today.metrics.add_by(Tally.ATTACKS, Dim.TOWN, self.target_towns[self.target[attacks]],
                             np.ones(attacks.size))  # fmt: skip
        here = self.target_flat[self.target[rows]]
        self._set_off(today, rows, here, self.base[rows], RETURNING)

    def _domestic_attacks(self, today: Today, activity: float) -> None:
        """Attacks by groups based in Pakistan: a Poisson number a day in each province."""
        settings = today.settings.militants
        yearly = np.array([settings.domestic_attacks_kp, settings.domestic_attacks_balochistan])
        if not yearly.any():
            return  # no draw: scenarios without domestic attacks keep their random stream
        rng = self.domestic_rng
        counts = rng.poisson(yearly * activity / DAYS_PER_YEAR)
        for province, towns, count in zip(self.domestic_province, self.domestic_towns, counts,
                                          strict=True):  # fmt: skip
            if count == 0 or towns.size == 0:
                continue
            where = towns[rng.integers(0, towns.size, size=count)]
            today.metrics.add(Tally.ATTACKS, count)
            today.metrics.add(Tally.DOMESTIC_ATTACKS, count)
            today.metrics.add_by(Tally.ATTACKS, Dim.PROVINCE, np.full(count, province),
                                 np.ones(count))  # fmt: skip
            today.metrics.add_by(Tally.ATTACKS, Dim.TOWN, where, np.ones(count))

    def _lose(self, today: Today, rows: np.ndarray) -> None:
        """Killed or captured: the slot is refilled from the sanctuaries after a while."""
        self.state[rows] = LOST
        self.journey.node[rows] = -1
        mean = today.settings.militants.replacement_days
        self.days_left[rows] = self.rng.exponential(mean, size=rows.size)

    # ------------------------------------------------------------------------------------------
    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every cell (militant group)."""
        cells = self.base.copy()
        at_target = self.state == AT_TARGET
        cells[at_target] = self.target_flat[self.target[at_target]]
        return self.with_travellers(cells, places)
