"""Gate travellers: the people who cross the official gates every day, both ways.

Day labourers and porters, small traders, patients going to the hospitals of Peshawar and Quetta,
students and families visiting kin live near a gate (its *catchment*, ``gate_travellers.catchments``)
on either side of the line. Each agent is ``scale.people_per_agent`` people of one purpose; a purpose
sets how often they set off and how long they stay across (:data:`PURPOSES`, assumptions). A trip
is: go to the gate, queue (first come, first served, from the people capacity the refugees left),
cross, stay, come back the same way. Each crossing, either way, counts once in ``gate_people``.

* **Document regimes.** Each person holds a passport and visa, only a border permit or tazkira, or
  nothing (the catchment's shares). A trip that the gate's ``document_regime`` does not allow is
  given up (``trips_forgone``), ends refused at the gate (``travellers_turned_away``) or goes
  irregularly through the informal point nearest the gate (``irregular_civilian_crossings``).
  Going home is always allowed: a country takes its own residents back.
* **Closures.** Travellers at home do not set off for a closed gate (they postpone). Those across
  the line when it closes come to it to go home and are stranded there (``stranded_people``). Each
  day a stranded traveller may go back and try again later, divert to the nearest open gate, or cross
  irregularly (``gate_travellers.*_per_day``); the rest keep waiting. Those waiting at an open gate
  that could not serve them the day before weigh the same choices.
* **Humanitarian passage.** A closed gate with ``humanitarian_people_per_day`` lets patients and
  visiting families through, up to that many a day, after the refugees' returnees and deportees.

Travellers cross where they live, so the walk or drive to their gate takes no model time; diverting
to another gate is a road journey.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from borderabm.metrics import Dim, Tally
from borderabm.rules.gates import (
    BORDER_PERMIT,
    NO_DOCUMENTS,
    PASSPORT_VISA,
    REGIME_CODE,
    serve_queues,
)
from borderabm.rules.population import (
    FOOT,
    VEHICLE,
    Journey,
    Travellers,
    other_side,
    rows_where,
    state_names,
)
from borderabm.world.world import AF, PK

if TYPE_CHECKING:
    from borderabm.rules.today import Places, Today
    from borderabm.scenario import Scenario


class TravellerState(IntEnum):
    """Where a traveller is (stored as ``int8`` in :attr:`GateTravellers.state`)."""

    HOME = 0
    QUEUED = 1
    AWAY = 2
    DIVERTING = 3
    DEAD = 4  # killed crossing irregularly (the whole agent: with one person per agent, that one)


# Plain ints for the rules (numpy compares int8 arrays with IntEnum members slowly).
HOME, QUEUED, AWAY, DIVERTING, DEAD = map(int, TravellerState)
STATES = state_names(TravellerState)


@dataclass(frozen=True)
class Purpose:
    """Why a traveller crosses, and so how often and for how long.

    Attributes:
        name: The purpose.
        share: Share of a catchment's regular users.
        trip_chance: Chance on a day at home of setting off.
        stay_days: Mean nights spent across the line (0: back the next day).
        humanitarian: Let through a closed gate that has humanitarian capacity.
    """

    name: str
    share: float
    trip_chance: float
    stay_days: float
    humanitarian: bool


# Assumptions, chosen so that an average person crosses ~0.28 times a day and the crossings come
# mostly from labourers and traders, as reports of the gates describe them (Chaman residents
# "cross each morning and return", newslens.pk 2016). Patients: >100,000 Afghan patients a year in
# Peshawar's hospitals (afghandiaspora.org 2023), a few visits a year each.
PURPOSES: tuple[Purpose, ...] = (
    Purpose("labourer", 0.25, 0.8, 0.0, humanitarian=False),  # most working days, back at night
    Purpose("trader", 0.15, 0.3, 1.0, humanitarian=False),  # a few market trips a week
    Purpose("patient", 0.20, 4 / 365, 7.0, humanitarian=True),  # with an attendant
    Purpose("student", 0.05, 3 / 365, 60.0, humanitarian=False),  # a term at a time
    Purpose("family", 0.35, 6 / 365, 5.0, humanitarian=True),  # visits to kin
)
PURPOSE_NAMES = tuple(p.name for p in PURPOSES)
_SHARE = np.array([p.share for p in PURPOSES])
_TRIP_CHANCE = np.array([p.trip_chance for p in PURPOSES])
_STAY_DAYS = np.array([p.stay_days for p in PURPOSES])
_HUMANITARIAN = np.array([p.humanitarian for p in PURPOSES])
SIDE_INDEX = {AF: 0, PK: 1}  # columns of the catchment places


def agents_per_gate(settings: Scenario, gate_names: tuple[str, ...]) -> np.ndarray:
    """Traveller agents of each gate's catchment: its people (times ``people_scale``) per agent."""
    per_agent = settings.scale.people_per_agent / settings.gate_travellers.people_scale
    catchments = settings.gate_travellers.catchments
    return np.array([round(catchments[g].people / per_agent) for g in gate_names], dtype=np.int64)


class GateTravellers(Travellers):
    """All gate travellers, as arrays.

    Attributes:
        gate: The gate of each traveller's catchment (where trips start and end).
        at_gate: The gate a queued or diverting traveller is at or heading for.
        home_side: The side each lives on; ``side`` the side each is on now.
        purpose: Index into :data:`PURPOSES`.
        document_draw: A fixed uniform draw per traveller: the documents held are read off the
            catchment's shares of the day, so a dated change of the shares gives or takes away
            documents consistently (a higher passport share only adds holders).
        days_left: Nights still to spend across the line.
        waiting_since: Day each queued traveller joined the queue.
        irregular: The current trip went irregularly (and comes back the same way).
    """

    kind = "gate_traveller"
    states = STATES
    dead_state = DEAD
    moving = (DIVERTING,)

    def populate(self, places: Places, settings: Scenario) -> None:
        """Give each traveller a catchment, a side, a purpose and documents; start near equilibrium."""
        world, routes, rng, count = places.world, places.routes, self.rng, self.n
        self.gate_names = tuple(c.name for c in world.crossings)
        per_gate = agents_per_gate(settings, self.gate_names)
        self.gate = np.repeat(np.arange(per_gate.size), per_gate).astype(np.int64)
        catchments = settings.gate_travellers.catchments
        pk_share = np.array([catchments[g].pakistan_side_share for g in self.gate_names])
        self.home_side = np.where(rng.random(count) < pk_share[self.gate], PK, AF).astype(np.int8)
        self.purpose = rng.choice(len(PURPOSES), size=count, p=_SHARE / _SHARE.sum()).astype(
            np.int8
        )
        self.document_draw = rng.random(count)
        self.at_gate = self.gate.copy()
        self.waiting_since = np.zeros(count, dtype=np.int64)
        self.irregular = np.zeros(count, dtype=bool)
        self.journey = Journey.empty(count)
        # Start near the steady state: of those the gate lets through, a share of each purpose is
        # across the line on day 0 (the mean time away over the mean cycle), with some of its stay
        # still to run.
        stay = _STAY_DAYS[self.purpose]
        cycle_home = 1.0 / _TRIP_CHANCE[self.purpose]
        crossing = [settings.crossings[g] for g in self.gate_names]
        regime = np.array([REGIME_CODE[c.document_regime] for c in crossing])
        usable = np.array([c.open and c.capacity_people_per_day > 0 for c in crossing])
        let_through = usable[self.gate] & (self.documents(settings) >= regime[self.gate])
        away = let_through & (rng.random(count) < (stay + 1.0) / (cycle_home + stay + 1.0))
        self.state[away] = AWAY
        self.side = np.where(away, other_side(self.home_side), self.home_side).astype(np.int8)
        self.days_left = np.floor(rng.random(count) * (stay + 1.0)).astype(np.float32)

        gate_flat = places.gate_flat_cells
        town_flat = routes.node_flat[routes.towns]
        town_side = world.country.ravel()[town_flat]
        hours = routes.hours(VEHICLE)[np.ix_(routes.gates, town_flat)]  # [gate, town]
        # Where each catchment lives on each side: the town nearest its gate by road, if any.
        self.place = np.repeat(gate_flat[:, None], 2, axis=1).astype(np.int64)
        for side, column in SIDE_INDEX.items():
            on_side = np.where(town_side[None, :] == side, hours, np.inf)
            nearest = np.argmin(on_side, axis=1)
            found = np.isfinite(on_side[np.arange(len(gate_flat)), nearest])
            self.place[found, column] = town_flat[nearest[found]]
        # The informal point nearest each gate on foot, for irregular crossings.
        foot = routes.hours(FOOT)[np.ix_(routes.informal, gate_flat)]
        self.gate_point = np.argmin(foot, axis=0).astype(np.int64)
        vehicle = routes.hours(VEHICLE)
        self.gate_hours = vehicle[np.ix_(routes.gates, gate_flat)]  # [to gate, from gate cell]

    # ------------------------------------------------------------------------------------------
    def documents(self, settings: Scenario) -> np.ndarray:
        """The documents each traveller holds today, as codes of the document regimes."""
        catchments = settings.gate_travellers.catchments
        passport = np.array([catchments[g].passport_visa_share for g in self.gate_names])
        permit = passport + np.array([catchments[g].border_permit_share for g in self.gate_names])
        draw = self.document_draw
        return np.where(draw < passport[self.gate], PASSPORT_VISA,
                        np.where(draw < permit[self.gate], BORDER_PERMIT, NO_DOCUMENTS))  # fmt: skip

    def _documents_in_force(self, settings: Scenario) -> np.ndarray:
        """:meth:`documents`, made again only when the scenario in force changes (read-only).

        The scenario is frozen (a dated change replaces it), so it is known by identity; the draws
        and home gates the documents come from never change.
        """
        held = getattr(self, "_documents_held", None)
        if held is None or held[0] is not settings:
            documents = self.documents(settings)
            documents.setflags(write=False)
            held = self._documents_held = (settings, documents)
        return held[1]

    def step(self, today: Today) -> None:
        """One day: returns, new trips, diversions arriving, the queues, the stranded, the irregular."""
        rng, gates = self.rng, today.gates
        documents = self._documents_in_force(today.settings)

        away = rows_where(self.state == AWAY)
        self.days_left[away] -= 1.0
        back = away[self.days_left[away] < 0.0]
        irregular_back = back[self.irregular[back]]
        self._queue(back[~self.irregular[back]], today.day)

        at_home = rows_where(self.state == HOME)
        if getattr(self, "_trip_chance", None) is None:  # purposes never change: looked up once
            self._trip_chance = _TRIP_CHANCE[self.purpose]
        leaving = at_home[rng.random(at_home.size) < self._trip_chance[at_home]]
        irregular_out = self._set_off(today, leaving, documents)

        arrived = self.arrivals()
        self.state[arrived] = QUEUED
        self.waiting_since[arrived] = today.day
        self.journey.node[arrived] = -1

        self._serve(today, documents)
        irregular_stranded = self._reconsider(today, documents)
        self._cross_irregularly(
            today, np.concatenate((irregular_back, irregular_out, irregular_stranded))
        )

        queued = rows_where(self.state == QUEUED)
        stranded = queued[~gates.open[self.at_gate[queued]]]
        people = today.people_per_agent
        today.metrics.add(Tally.STRANDED_PEOPLE, stranded.size * people)
        today.metrics.add_by(Tally.STRANDED_PEOPLE, Dim.GATE, self.at_gate[stranded],
                             np.full(stranded.size, people))  # fmt: skip

    def _queue(self, rows: np.ndarray, day: int) -> None:
        """Join the queue of one's own gate."""
        self.state[rows] = QUEUED
        self.at_gate[rows] = self.gate[rows]
        self.waiting_since[rows] = day

    def _set_off(self, today: Today, rows: np.ndarray, documents: np.ndarray) -> np.ndarray:
        """Start trips: queue, postpone (gate shut), or meet the document regime's three outcomes.

        Returns:
            The rows that cross irregularly today.
        """
        gates, settings = today.gates, today.settings.gate_travellers
        gate = self.gate[rows]
        humanitarian = (gates.capacity_humanitarian[gate] > 0) & _HUMANITARIAN[self.purpose[rows]]
        rows = rows[gates.open[gate] | humanitarian]  # the rest postpone: the gate is shut
        meets = documents[rows] >= gates.document_regime[self.gate[rows]]
        self._queue(rows[meets], today.day)
        without = rows[~meets]
        draw = self.rng.random(without.size)
        turned_away = draw < settings.turned_away_probability
        irregular = ~turned_away & (
            draw < settings.turned_away_probability + settings.irregular_probability
        )
        people = today.people_per_agent
        today.metrics.add(Tally.TRAVELLERS_TURNED_AWAY, int(turned_away.sum()) * people)
        today.metrics.add(Tally.TRIPS_FORGONE, int((~turned_away & ~irregular).sum()) * people)
        going = without[irregular]
        self.at_gate[going] = self.gate[going]
        return going

    def _serve(self, today: Today, documents: np.ndarray) -> None:
        """Serve the queues from what the day's people capacity has left.

        An open gate serves everyone queued, in arrival order; a closed gate with humanitarian
        capacity serves patients and visiting families. A traveller setting out whose documents no
        longer meet the gate's regime (it changed while they queued) is turned away.
        """
        gates = today.gates
        people = today.people_per_agent
        queued = rows_where(self.state == QUEUED)
        at = self.at_gate[queued]
        outbound = self.side[queued] == self.home_side[queued]
        refused = queued[outbound & (documents[queued] < gates.document_regime[at])]
        self.state[refused] = HOME
        today.metrics.add(Tally.TRAVELLERS_TURNED_AWAY, refused.size * people)

        queued = rows_where(self.state == QUEUED)
        at = self.at_gate[queued]
        queued = queued[gates.open[at] | _HUMANITARIAN[self.purpose[queued]]]
        at = self.at_gate[queued]
        served = queued[serve_queues(at, self.waiting_since[queued], gates.people_left(),
                                     self.ids[queued])]  # fmt: skip
        gate = self.at_gate[served]
        gates.served_people[:] += np.bincount(gate, minlength=gates.served_people.size)
        today.metrics.add(Tally.GATE_PEOPLE, served.size * people)
        today.metrics.add_by(Tally.GATE_PEOPLE, Dim.GATE, gate, np.full(served.size, people))
        today.metrics.add(
            Tally.HUMANITARIAN_PASSAGES, int(np.count_nonzero(~gates.open[gate])) * people
        )
        self._cross(served, irregular=False)

    def _cross(self, rows: np.ndarray, *, irregular: bool) -> None:
        """Across the line: those setting out stay a while, those coming back are home."""
        outbound = rows[self.side[rows] == self.home_side[rows]]
        returning = rows[self.side[rows] != self.home_side[rows]]
        self.side[rows] = other_side(self.side[rows])
        self.state[outbound] = AWAY
        self.days_left[outbound] = self.rng.poisson(_STAY_DAYS[self.purpose[outbound]])
        self.irregular[outbound] = irregular
        self.state[returning] = HOME
        self.irregular[returning] = False

    def _go_back(self, rows: np.ndarray, retry_days: float) -> None:
        """Leave the gate: home if still on one's own side, else back to one's lodging for a while."""
        outbound = rows[self.side[rows] == self.home_side[rows]]
        returning = rows[self.side[rows] != self.home_side[rows]]
        self.state[outbound] = HOME
        self.state[returning] = AWAY
        self.days_left[returning] = retry_days

    def _reconsider(self, today: Today, documents: np.ndarray) -> np.ndarray:
        """Travellers left waiting decide: keep waiting, go back, divert, or cross irregularly.

        Those at a closed gate decide every day (unless humanitarian passage awaits them); those
        at an open gate only once they have waited a full day in vain.

        Returns:
            The rows that cross irregularly today.
        """
        gates, settings = today.gates, today.settings.gate_travellers
        queued = rows_where(self.state == QUEUED)
        at = self.at_gate[queued]
        passage = (gates.capacity_humanitarian[at] > 0) & _HUMANITARIAN[self.purpose[queued]]
        shut = ~gates.open[at] & ~passage
        in_vain = gates.open[at] & (self.waiting_since[queued] < today.day)
        deciding = queued[shut | in_vain]
        draw = self.rng.random(deciding.size)
        give_up = draw < settings.give_up_per_day
        diverting_below = settings.give_up_per_day + settings.divert_per_day
        divert = ~give_up & (draw < diverting_below)
        irregular = ~give_up & ~divert & (draw < diverting_below + settings.irregular_per_day)
        self._go_back(deciding[give_up], settings.retry_days)
        self._divert(today, deciding[divert], documents)
        going = deciding[irregular]
        self.state[going] = HOME  # not queued any more; _cross_irregularly sets where they end up
        return going

    def _divert(self, today: Today, rows: np.ndarray, documents: np.ndarray) -> None:
        """Drive to the nearest other open gate that lets them through (else keep waiting)."""
        if rows.size == 0:
            return
        gates = today.gates
        here = self.at_gate[rows]
        hours = self.gate_hours[:, here].T.copy()  # [row, gate]
        setting_out = self.side[rows] == self.home_side[rows]
        allowed = gates.open[None, :] & gates.people_allowed[None, :]
        allowed = allowed & (
            ~setting_out[:, None] | (documents[rows][:, None] >= gates.document_regime[None, :])
        )
        allowed[np.arange(rows.size), here] = False
        hours[~allowed] = np.inf
        best = np.argmin(hours, axis=1)
        reachable = np.isfinite(hours[np.arange(rows.size), best])
        go, gate = rows[reachable], best[reachable]
        self.state[go] = DIVERTING
        self.at_gate[go] = gate
        origin = today.gate_flat_cells[here[reachable]]
        self.journey.start(go, today.routes.gates[gate], origin,
                           self.gate_hours[gate, here[reachable]], VEHICLE)  # fmt: skip

    def _cross_irregularly(self, today: Today, rows: np.ndarray) -> None:
        """Cross at the informal point nearest the gate; those stopped go back and try later.

        Assumption: travellers know the short crossings by their homes, so the mountains' own risk
        (which refugees on long walks face) is left out; deaths come from lethal force only,
        drawn per person (``patrols.lethal_death_probability``) and counted in people.
        """
        if rows.size == 0:
            return
        points = today.points
        point = self.gate_point[self.at_gate[rows]]
        people = today.people_per_agent
        outcome = points.attempt(
            point, today.settings, self.rng, can_breach=False, civilian=True, people=people
        )
        metrics = today.metrics
        # Lethal force kills per person; a group is gone only if all its people are, and the
        # survivors of a stopped group go back like the others stopped.
        crossed = outcome.crossed
        metrics.add(Tally.IRREGULAR_CIVILIAN_CROSSINGS, int(crossed.sum()) * people)
        metrics.add(Tally.CIVILIAN_INTERDICTIONS, int(outcome.interdicted.sum()) * people)
        metrics.add(Tally.BORDER_DEATHS, int(outcome.deaths.sum()))
        metrics.add_by(Tally.BORDER_DEATHS, Dim.SECTOR, points.sector[point], outcome.deaths)
        metrics.add_by(Tally.IRREGULAR_CROSSINGS, Dim.SECTOR, points.sector[point[crossed]],
                       np.full(int(crossed.sum()), people))  # fmt: skip
        self._cross(rows[crossed], irregular=True)
        self._go_back(rows[~crossed & ~outcome.killed], today.settings.gate_travellers.retry_days)
        self.state[rows[outcome.killed]] = DEAD

    # ------------------------------------------------------------------------------------------
    def flat_cells(self, places: Places) -> np.ndarray:
        """Current flat cell of every traveller: the catchment's town on their side, or the gate."""
        column = np.where(self.side == PK, SIDE_INDEX[PK], SIDE_INDEX[AF])
        cells = self.place[self.gate, column]
        queued = self.state == QUEUED
        cells[queued] = places.gate_flat_cells[self.at_gate[queued]]
        return self.with_travellers(cells, places)
