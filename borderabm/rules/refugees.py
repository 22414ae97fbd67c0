"""Refugees, returnees and divided border communities: family groups on the move.

Each agent is a family group of ``scale.people_per_agent`` people, in one of three groups:

* **in Pakistan** (registered or undocumented Afghans): return of their own accord at a low rate, or
  are deported by a deportation drive — the undocumented, and registered holders too when the drive
  removes their status (``deportation.include_registered``; seed 004: "coerced returns by removing
  refugee status"). Deportees are taken
  to the nearest gate; if it is closed they are stranded there, and may try the mountains instead.
* **displaced in Afghanistan**: pushed by conflict (``conflict_intensity``) towards Pakistan; those
  with papers use an open gate, the rest cross irregularly (seeds 003, 004).
* **border community** (divided Pashtun communities, seed 000): short visits across the line through
  the nearest informal point. The fence turns many back — they do not cut it; some find a gap or pay
  a guide — so a fuller fence means fewer visits ("the fence is a wall between brothers").

Irregular crossers pick the informal point with the lowest expected cost (walking hours, the fence's
expected cost — the walk wasted if turned back, or the passage fee and the gap's risk — and
interdiction risk weighted by ``risk_aversion_hours``); rough ground kills a few
(``terrain_death_per_hour``, per person per hour), which is how enforcement that funnels crossers into
the mountains raises deaths (Cornelius 2001). Under lethal rules of engagement an interdiction can end
in deaths (``patrols.lethal_death_probability``, per person). Deaths are drawn per person — binomial
over a group's people — so they do not depend on ``scale.people_per_agent``; a group is dead only
when all its people are, and otherwise its survivors carry on.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from borderabm.metrics import Dim, Tally
from borderabm.rules.gates import serve_queues
from borderabm.rules.population import (
    DAYS_PER_YEAR,
    FOOT,
    VEHICLE,
    Journey,
    Travellers,
    gumbel,
    other_side,
    probabilistic_round,
    rows_where,
    state_names,
)
from borderabm.world.world import AF, PK

if TYPE_CHECKING:
    from borderabm.rules.today import Places, Today
    from borderabm.scenario import Scenario


class RefugeeGroup(IntEnum):
    """Which of the three groups a family belongs to (stored as ``int8`` in :attr:`Refugees.group`)."""

    IN_PAKISTAN = 0
    DISPLACED_IN_AF = 1
    COMMUNITY = 2


class RefugeeState(IntEnum):
    """Where a family is (stored as ``int8`` in :attr:`Refugees.state`)."""

    SETTLED = 0
    TO_GATE = 1
    AT_GATE = 2
    TO_POINT = 3
    TO_DESTINATION = 4
    VISITING = 5
    DEAD = 6


# The rules below use the groups and states by their short names, as plain ints: numpy compares an int8
# array with an IntEnum member by first casting it to int64 (about 8x slower).
IN_PAKISTAN, DISPLACED_IN_AF, COMMUNITY = map(int, RefugeeGroup)
GROUPS = state_names(RefugeeGroup)
SETTLED, TO_GATE, AT_GATE, TO_POINT, TO_DESTINATION, VISITING, DEAD = map(int, RefugeeState)
STATES = state_names(RefugeeState)
VISIT_DAYS = 3.0  # assumption: a family visit across the line lasts about three days
CHOICE_NOISE_HOURS = 4.0  # assumption: spread of route preferences between groups, hours
# Assumptions for the fence's cost in the choice of a point (fence.civilian_passage_probability,
# fence.passage_fee_usd): a group turned back at the fence has walked to it and back for nothing;
# the fee is weighed in hours of work at an unskilled labourer's wage in the border districts,
# about US$4 for an 8-hour day.
TURNED_BACK_WALKS = 2.0  # the walk to the fence, and back
CIVILIAN_USD_PER_HOUR = 0.5
# Assumption: refugees.terrain_death_per_hour holds as given on flat ground, walked at about 5 km/h
# (Tobler: 0.2 h/km); the risk rises in proportion to how much slower the ground is.
FLAT_GROUND_HOURS_PER_KM = 0.2


class Refugees(Travellers):
    """All family groups, as arrays."""

    kind = "refugee"
    states = STATES
    dead_state = DEAD
    moving = (TO_GATE, TO_POINT, TO_DESTINATION)

    def populate(self, places: Places, settings: Scenario) -> None:
        """Sort the families into the three groups and give each a home."""
        world, routes, rng, count = places.world, places.routes, self.rng, self.n
        population = settings.population
        if population.communities is None:
            community = rng.random(count) < population.community_share
        else:  # a fixed number, after the refugee groups
            community = np.arange(count) >= population.refugees
        in_pakistan = ~community & (rng.random(count) < population.in_pakistan_share)
        self.group = np.where(community, COMMUNITY, np.where(in_pakistan, IN_PAKISTAN,
                                                             DISPLACED_IN_AF)).astype(np.int8)  # fmt: skip
        self.registered = in_pakistan & (rng.random(count) < population.registered_share)
        self.documented = (self.group == DISPLACED_IN_AF) & (
            rng.random(count) < settings.refugees.documented_share_af
        )
        self.deported = np.zeros(count, dtype=bool)

        self.town_node = routes.towns
        self.town_flat = routes.node_flat[self.town_node]
        self.town_side = world.country.ravel()[self.town_flat]
        self.town_weight = np.sqrt(np.array([max(t.population, 1000) for t in world.towns], float))
        self.home = np.zeros(count, dtype=np.int64)  # flat cell
        self.side = np.where(self.group == IN_PAKISTAN, PK, AF).astype(np.int8)
        in_towns = rows_where(self.group != COMMUNITY)
        self.home[in_towns] = self.town_flat[self._towns_on(self.side[in_towns])]
        self._place_communities(places, settings, rows_where(self.group == COMMUNITY))

        self.target_town = np.full(count, -1, dtype=np.int64)  # index into towns
        self.gate = np.full(count, -1, dtype=np.int64)
        self.point = np.full(count, -1, dtype=np.int64)
        self.waiting_since = np.zeros(count, dtype=np.int64)
        self.visit_days = np.zeros(count)
        self.journey = Journey.empty(count)

    def _place_communities(self, places: Places, settings: Scenario, rows: np.ndarray) -> None:
        """Border communities live on either side within ``community_range_km`` of the line."""
        world, rng = places.world, self.rng
        reach = settings.refugees.community_range_km
        near = (world.distance_to_border_km <= reach) & ~world.is_border
        near &= np.isin(world.country, (AF, PK))
        cells = rows_where(near.ravel())
        self.home[rows] = rng.choice(cells, size=rows.size)
        self.side[rows] = world.country.ravel()[self.home[rows]]

    # ------------------------------------------------------------------------------------------
    def step(self, today: Today) -> None:
        """One day of movement."""
        rng = self.rng
        settings = today.settings.refugees
        settled = self.state == SETTLED

        returning = rows_where(settled & (self.group == IN_PAKISTAN))
        returning = returning[
            rng.random(returning.size) < settings.voluntary_return_per_year / DAYS_PER_YEAR
        ]
        self._leave_by_gate(today, returning, deported=False)

        deportation = today.settings.deportation
        if deportation.active_on(today.day):
            liable = self.group == IN_PAKISTAN
            if not deportation.include_registered:
                liable &= ~self.registered
            pool = rows_where(settled & liable)
            pool = np.setdiff1d(pool, returning, assume_unique=True)
            wanted = probabilistic_round(
                deportation.daily_rate / today.settings.scale.people_per_agent, rng
            )
            chosen = rng.permutation(pool)[: int(wanted)]
            taken = self._leave_by_gate(today, np.sort(chosen), deported=True)
            today.metrics.add(Tally.DEPORTED_PEOPLE, taken * today.people_per_agent)

        fleeing = rows_where(settled & (self.group == DISPLACED_IN_AF))
        hazard = settings.displacement_per_year * settings.conflict_intensity / DAYS_PER_YEAR
        fleeing = fleeing[rng.random(fleeing.size) < hazard]
        if fleeing.size:
            self.target_town[fleeing] = self._towns_on(np.full(fleeing.size, PK))
            papers = self.documented[fleeing]
            self._leave_by_gate(today, fleeing[papers], deported=False, keep_target=True)
            self._leave_irregularly(today, fleeing[~papers])

        visiting_home = rows_where(settled & (self.group == COMMUNITY))
        trips = visiting_home[
            rng.random(visiting_home.size) < settings.community_trips_per_year / DAYS_PER_YEAR
        ]
        self._leave_irregularly(today, trips)

        self.visit_days -= 1.0
        back = rows_where((self.state == VISITING) & (self.visit_days <= 0))
        self._leave_irregularly(today, back)

        self._serve_gates(today)
        self._reconsider_stranded(today)
        self._travel(today)
        waiting = rows_where(self.state == AT_GATE)
        stranded = waiting[~today.gates.open[np.maximum(self.gate[waiting], 0)]]
        today.metrics.add(Tally.STRANDED_PEOPLE, int(stranded.size) * today.people_per_agent)
        today.metrics.add_by(Tally.STRANDED_PEOPLE, Dim.GATE, self.gate[stranded],
                             np.full(int(stranded.size), today.people_per_agent))  # fmt: skip

    def _towns_on(self, sides: np.ndarray) -> np.ndarray:
        """A town on each of ``sides`` (bigger towns likelier), as an index into the towns."""
        chosen = np.empty(sides.size, dtype=np.int64)
        for country, candidates, chances in self._town_chances():  # as choose_on_sides draws
            mine = sides == country
            chosen[mine] = self.rng.choice(candidates, size=int(mine.sum()), p=chances)
        return chosen

    def _town_chances(self) -> tuple[tuple[int, np.ndarray, np.ndarray], ...]:
        """choose_on_sides's candidates and chances for the towns (AF, then PK), made once."""
        held = getattr(self, "_town_chances_held", None)
        if held is None:
            held = []
            for country in (AF, PK):
                candidates = rows_where(self.town_side == country)
                weight = self.town_weight[candidates]
                held.append((country, candidates, weight / weight.sum()))
            held = self._town_chances_held = tuple(held)
        return held

    def _leave_by_gate(self, today: Today, rows: np.ndarray, *, deported: bool,
                       keep_target: bool = False) -> int:  # fmt: skip
        """Head for the gate with the shortest road time that lets them through; return how many."""
        if rows.size == 0:
            return 0
        routes = today.routes
        if not keep_target:
            self.target_town[rows] = self._towns_on(other_side(self.side[rows]))
        vehicle = routes.hours(VEHICLE)
        gates = routes.gates
        to_gates = routes.gate_hours(VEHICLE)
        hours = np.take(to_gates, self.home[rows], axis=1) + np.take(
            to_gates, self.town_flat[self.target_town[rows]], axis=1
        )
        hours[~today.gates.people_allowed] = np.inf
        best = np.argmin(hours, axis=0)
        ok = np.isfinite(hours[best, np.arange(rows.size)])
        go = rows[ok]
        gate = best[ok]
        self.deported[go] = deported
        self.gate[go] = gate
        self.state[go] = TO_GATE
        self.journey.start(go, gates[gate], self.home[go], vehicle[gates[gate], self.home[go]],
                           VEHICLE)  # fmt: skip
        return int(go.size)

    def _leave_irregularly(self, today: Today, rows: np.ndarray) -> None:
        """Walk to the informal point with the lowest expected cost."""
        if rows.size == 0:
            return
        routes = today.routes
        settings = today.settings.refugees
        foot = routes.hours(FOOT)
        here = self._current_cells(rows, today)
        community = self.group[rows] == COMMUNITY
        if (~community).any():
            targets = rows[~community]
            unset = self.target_town[targets] < 0
            if unset.any():
                leaving = targets[unset]
                self.target_town[leaving] = self._towns_on(other_side(self.side[leaving]))
        destination = np.where(
            community, here, self.town_flat[np.maximum(self.target_town[rows], 0)]
        )
        to_points = routes.informal_hours(FOOT)
        walk = np.take(to_points, here, axis=1)
        hours = walk + np.where(community[None, :], 0.0, np.take(to_points, destination, axis=1))
        reach = settings.community_range_km
        too_far = community[None, :] & (today.point_distance_km[:, here] > reach)
        risk, point_fence, passage, passage_through = self._point_costs(today)
        # A point out of reach costs inf through ``hours`` already (and 0 x inf would be NaN).
        turned_back = TURNED_BACK_WALKS * np.where(np.isfinite(walk), walk, 0.0)
        at_fence = point_fence * ((1.0 - passage) * turned_back + passage_through)
        cost = hours + risk + at_fence + gumbel(self.rng, hours.shape, CHOICE_NOISE_HOURS)
        cost[too_far] = np.inf
        best = np.argmin(cost, axis=0)
        ok = np.isfinite(cost[best, np.arange(rows.size)])
        today.metrics.add(Tally.COMMUNITY_TRIPS_IMPOSSIBLE, int(np.count_nonzero(~ok & community)))
        go = rows[ok]
        self.point[go] = best[ok]
        self.state[go] = TO_POINT
        self.journey.start(go, routes.informal[best[ok]], here[ok],
                           foot[routes.informal[best[ok]], here[ok]], FOOT)  # fmt: skip
        stay = rows[~ok]
        self.state[stay] = np.where(self.state[stay] == VISITING, VISITING, SETTLED)

    def _point_costs(self, today: Today) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """What each informal point costs a group today apart from its walk, made once a day.

        Returns the interdiction risk in hours, the point's fence, the chance of passage at the
        fence, and that chance times the cost of going through (fee and the gap's risk), as
        ``[point, 1]`` columns: the fence makes a point costlier, not forbidden: a group that meets
        it is turned back (the walk wasted) or goes through a gap, paying the fee and the gap's
        extra risk. The points' fence and detection are fixed for the day before anyone moves.
        """
        held = getattr(self, "_point_costs_held", None)
        if held is not None and held[0] is today:
            return held[1]
        settings, points = today.settings, today.points
        aversion = settings.refugees.risk_aversion_hours
        fence = settings.fence
        passage = fence.civilian_passage_probability
        risk = points.interdiction_risk(settings)[:, None] * aversion
        through = fence.passage_fee_usd / CIVILIAN_USD_PER_HOUR + (
            points.passage_risk(settings)[:, None] * aversion
        )
        costs = (risk, points.fence[:, None], passage, passage * through)
        self._point_costs_held = (today, costs)
        return costs

    def _current_cells(self, rows: np.ndarray, today: Today) -> np.ndarray:
        """Where groups stand when they set off: home, or the place they are visiting."""
        visiting = self.state[rows] == VISITING
        return np.where(visiting, today.points.flat_cells[np.maximum(self.point[rows], 0)],
                        self.home[rows])  # fmt: skip

    def _serve_gates(self, today: Today) -> None:
        """Serve the queues, first come first served, from the day's people capacity.

        An open gate serves everyone queued; a closed gate with humanitarian capacity lets only
        returnees and deportees (on their way from Pakistan to Afghanistan) through.
        """
        waiting = rows_where(self.state == AT_GATE)
        if waiting.size == 0:
            return
        gates = today.gates
        open_gate = gates.open[self.gate[waiting]]
        waiting = waiting[open_gate | (self.side[waiting] == PK)]
        served = waiting[serve_queues(self.gate[waiting], self.waiting_since[waiting],
                                      gates.people_left(), self.ids[waiting])]  # fmt: skip
        if served.size == 0:
            return
        people = today.people_per_agent
        gate = self.gate[served]
        gates.served_people[:] += np.bincount(gate, minlength=gates.served_people.size)
        every = np.full(served.size, people)
        today.metrics.add(Tally.REFUGEE_CROSSINGS_FORMAL, served.size * people)
        today.metrics.add(Tally.GATE_PEOPLE, served.size * people)
        today.metrics.add(
            Tally.HUMANITARIAN_PASSAGES, int(np.count_nonzero(~gates.open[gate])) * people
        )
        today.metrics.add(
            Tally.FORMAL_RETURNS, int(np.count_nonzero(self.side[served] == PK)) * people
        )
        today.metrics.add(Tally.DEPORTEES_CROSSED, int(self.deported[served].sum()) * people)
        today.metrics.add_by(Tally.REFUGEE_CROSSINGS_FORMAL, Dim.GATE, gate, every)
        today.metrics.add_by(Tally.GATE_PEOPLE, Dim.GATE, gate, every)
        vehicle = today.routes.hours(VEHICLE)
        node = self.town_node[self.target_town[served]]
        gate_cells = today.gate_flat_cells[gate]
        self.side[served] = other_side(self.side[served])
        self.state[served] = TO_DESTINATION
        self.journey.start(
            served,
            node,
            gate_cells,
            today.gates.processing_h[gate] + vehicle[node, gate_cells],
            VEHICLE,
        )

    def _reconsider_stranded(self, today: Today) -> None:
        """Groups at a closed gate may try the mountains, unless humanitarian passage awaits them."""
        waiting = rows_where(self.state == AT_GATE)
        gates = today.gates
        gate = self.gate[waiting]
        passage = (gates.capacity_humanitarian[gate] > 0) & (self.side[waiting] == PK)
        stuck = waiting[~gates.open[gate] & ~passage]
        chance = today.settings.refugees.redecide_probability_per_day
        leaving = stuck[self.rng.random(stuck.size) < chance]
        if leaving.size:
            self.home[leaving] = today.gate_flat_cells[self.gate[leaving]]
            self._leave_irregularly(today, leaving)

    def _travel(self, today: Today) -> None:
        arrived = self.arrivals()
        if arrived.size == 0:
            return
        state = self.state[arrived]
        at_gate = arrived[state == TO_GATE]
        self.state[at_gate] = AT_GATE
        self.waiting_since[at_gate] = today.day

        settled = arrived[state == TO_DESTINATION]
        self._settle(settled)

        at_point = arrived[state == TO_POINT]
        if at_point.size:
            self._cross_irregularly(today, at_point)

    def _settle(self, rows: np.ndarray) -> None:
        """Arrived: a new home on the other side (returnees become Afghanistan's displaced)."""
        self.home[rows] = self.town_flat[self.target_town[rows]]
        self.group[rows] = np.where(self.side[rows] == PK, IN_PAKISTAN, DISPLACED_IN_AF)
        self.registered[rows] = False
        self.documented[rows] = False
        self.deported[rows] = False
        self.target_town[rows] = -1
        self.state[rows] = SETTLED
        self.journey.node[rows] = -1

    def _cross_irregularly(self, today: Today, rows: np.ndarray) -> None:
        rng, points = self.rng, today.points
        people = today.people_per_agent
        outcome = points.attempt(
            self.point[rows], today.settings, rng, can_breach=False, civilian=True, people=people
        )
        metrics = today.metrics
        # Walking the mountains: risk grows with the hours spent on rough ground near the line.
        terrain = points.terrain_hours_per_km[self.point[rows]]
        walked = np.asarray(self.journey.speed[rows], float) + terrain * today.world.grid.cell_km
        per_hour = today.settings.refugees.terrain_death_per_hour
        risk = np.minimum(per_hour * walked * terrain / FLAT_GROUND_HOURS_PER_KM, 1.0)
        # Per person: of a group that crossed, each of its people dies with the risk.
        exposure_deaths = np.where(outcome.crossed, rng.binomial(people, risk), 0)
        deaths = outcome.deaths + exposure_deaths
        died = deaths >= people  # the whole group; otherwise the survivors carry on
        community = self.group[rows] == COMMUNITY
        crossed = outcome.crossed & ~died
        # People who made it across: the crossed groups' people, less those the walk killed.
        crossed_people = np.where(crossed, people - exposure_deaths, 0)
        metrics.add(Tally.BORDER_DEATHS, int(deaths.sum()))
        metrics.add(Tally.REFUGEE_CROSSINGS_IRREGULAR, int(crossed_people[~community].sum()))
        metrics.add(Tally.COMMUNITY_CROSSINGS, int(crossed_people[community].sum()))
        metrics.add(Tally.IRREGULAR_CIVILIAN_CROSSINGS, int(crossed_people.sum()))
        metrics.add(Tally.COMMUNITY_TRIPS_BLOCKED, int((outcome.blocked & community).sum()))
        metrics.add(Tally.CIVILIAN_INTERDICTIONS, int(outcome.interdicted.sum()) * people)
        # Funnel effect: how rough the ground is where refugees and returnees (who choose among all
        # points, unlike border communities) try to cross.
        tried = points.cells[self.point[rows[~community]]]
        rugged = today.world.ruggedness_m[tried[:, 0], tried[:, 1]]
        metrics.add(Tally.IRREGULAR_ATTEMPTS, int(tried.shape[0]) * people)
        metrics.add(Tally.IRREGULAR_ATTEMPT_RUGGEDNESS_M, float(rugged.sum()) * people)
        sectors = points.sector[self.point[rows]]
        metrics.add_by(Tally.IRREGULAR_CROSSINGS, Dim.SECTOR, sectors[crossed],
                       crossed_people[crossed])  # fmt: skip
        metrics.add_by(Tally.BORDER_DEATHS, Dim.SECTOR, sectors, deaths)

        dead = rows[died]
        self.state[dead] = DEAD
        self.journey.node[dead] = -1
        # Turned back by the fence or stopped by patrols: back to where they came from — home, or,
        # for visitors on their way home, the place they were visiting (to try again tomorrow).
        failed = rows[~outcome.crossed & ~died]
        home_country = today.world.country.ravel()[self.home[failed]]
        away = (self.group[failed] == COMMUNITY) & (self.side[failed] != home_country)
        self.state[failed] = np.where(away, VISITING, SETTLED)
        self.visit_days[failed[away]] = 1.0
        self.journey.node[failed] = -1

        over = rows[crossed]
        visit = over[self.group[over] == COMMUNITY]
        heading_home = self.side[visit] != today.world.country.ravel()[self.home[visit]]
        going_home = visit[heading_home]
        outbound = visit[~heading_home]  # the rest of the visitors, in their order
        self.side[visit] = other_side(self.side[visit])
        self.state[outbound] = VISITING
        self.visit_days[outbound] = VISIT_DAYS
        self.state[going_home] = SETTLED
        self.journey.node[visit] = -1

        movers = over[self.group[over] != COMMUNITY]
        if movers.size:
            foot = today.routes.hours(FOOT)
            node = self.town_node[self.target_town[movers]]
            point_cells = points.flat_cells[self.point[movers]]
            self.side[movers] = other_side(self.side[movers])
            self.state[movers] = TO_DESTINATION
            self.journey.start(movers, node, point_cells, foot[node, point_cells], FOOT)

    # ------------------------------------------------------------------------------------------
    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every group."""
        cells = self.home.copy()
        waiting = self.state == AT_GATE
        cells[waiting] = places.gate_flat_cells[self.gate[waiting]]
        visiting = self.state == VISITING
        cells[visiting] = places.points.flat_cells[self.point[visiting]]
        return self.with_travellers(cells, places)
