"""The scenario schema: run settings, populations, policy levers and behavioural assumptions.

Every section is a frozen pydantic model that refuses unknown keys (:class:`StrictModel`); a field's
``description`` says what it means and its bounds say what is allowed. Names of places are checked
against the world's own lists (:mod:`borderabm.gazetteer`), without building the world.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from borderabm.gazetteer import crossing_names, province_names, sector_names
from borderabm.metrics import MetricName, TriggerMetric
from borderabm.scenario.errors import check_names

# Sections that dated changes may touch: the policy levers and the conditions behind militancy, not
# the run settings or populations.
POLICY_SECTIONS = (
    "fence",
    "crossings",
    "corridor",
    "patrols",
    "deportation",
    "militants",
    "traders",
    "refugees",
    "gate_travellers",
    "conditions",
)
# How patrol units are posted each day. The rule for each is registered under the same name in
# borderabm.rules.patrols (ALLOCATORS); the UI offers these names.
PatrolStrategy = Literal["static", "uniform", "adaptive", "stackelberg"]
PATROL_STRATEGIES: tuple[PatrolStrategy, ...] = get_args(PatrolStrategy)

# Published anchor: ~US$550 million for ~2,600 km of fence (news reports, shared geo README).
FENCE_COST_USD_PER_KM = 550e6 / 2600.0

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Day = Annotated[int, Field(ge=0, le=36_500)]
NonNegative = Annotated[float, Field(ge=0.0)]


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys and non-finite numbers (the base of every input file).

    Scenario sections, sweep files and calibration specs share it, so that all three refuse the
    same mistakes the same way.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # JSON has no inf

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic would read "0.5" as 0.5 and true as 1.0: a quoted number or a switch where a
        # number belongs is a mistake to name, not to guess at.
        field = cls.model_fields.get(info.field_name or "")
        if (
            isinstance(value, bool | str)
            and field is not None
            and _is_number_type(field.annotation)
        ):
            kind = "a switch (true/false)" if isinstance(value, bool) else "quoted text"
            raise ValueError(f"{kind}, not a number")
        return value


def _is_number_type(annotation: Any) -> bool:
    """Whether a field holds a number: ``float``, ``int`` or either of them or None."""
    kinds = set(get_args(annotation)) - {type(None)} if get_args(annotation) else {annotation}
    return bool(kinds) and kinds <= {float, int}


# --------------------------------------------------------------------------------------------
# Run settings and populations
# --------------------------------------------------------------------------------------------
class MapSettings(StrictModel):
    """The grid the world is built on."""

    resolution_km: float = Field(5.0, ge=2.0, le=20.0, description="cell side, km")
    buffer_km: float = Field(150.0, ge=0.0, le=500.0, description="belt beyond the line, km")


class Scale(StrictModel):
    """What one agent stands for, so that metrics come out in real units."""

    people_per_agent: int = Field(50, ge=1, le=100_000, description="refugees per family agent")
    fighters_per_cell: int = Field(5, ge=1, le=1_000, description="militants per cell agent")
    usd_per_consignment: float = Field(
        2_700.0, ge=1.0, le=1e9, description="mean value of a truck's bilateral load, US$"
    )


class Population(StrictModel):
    """How many agents of each kind start the run (patrol units are a policy: ``patrols.units``)."""

    traders: int = Field(15_000, ge=0, le=5_000_000, description="trucks (one agent each)")
    refugees: int = Field(21_800, ge=0, le=5_000_000)
    militants: int = Field(600, ge=0, le=1_000_000)
    registered_share: Fraction = Field(
        0.6, description="share of refugee agents in Pakistan holding proof-of-registration"
    )
    in_pakistan_share: Fraction = Field(
        0.7, description="share of refugee agents starting in Pakistan (the rest displaced in AF)"
    )
    community_share: Fraction = Field(
        0.15,
        description="share of refugee agents that are divided border communities (local movement)",
    )
    # Border communities are the people who live along the line, not a share of the refugees
    # Pakistan hosts: a scenario that sizes the refugee stock (the history) sets them apart.
    communities: int | None = Field(
        None,
        ge=0,
        le=5_000_000,
        description="border-community groups, a fixed number; if set, `community_share` is not "
        "used and `refugees` counts the other groups only",
    )

    @property
    def refugee_agents(self) -> int:
        """All groups of the refugee kind: refugees and returnees, and the border communities."""
        return self.refugees + (self.communities or 0)

    @property
    def has_communities(self) -> bool:
        """Whether any border-community group may exist."""
        if self.communities is not None:
            return self.communities > 0
        return self.refugees > 0 and self.community_share > 0


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------
class FencePoint(StrictModel):
    """One point of the fence construction schedule (``date`` is turned into ``day`` on load)."""

    day: Day
    coverage: Fraction
    date: dt.date | None = Field(None, description="calendar date of the point, if given as one")
    source: str = Field("", description="where the figure was published")


class Fence(StrictModel):
    """The border fence: how much is built, where, how it decays and what it costs."""

    coverage: Fraction = Field(0.0, description="share of every sector's length fenced")
    sectors: dict[str, Fraction] = Field(
        default_factory=dict, description="coverage by sector name, overriding `coverage`"
    )
    schedule: tuple[FencePoint, ...] = Field(
        (), description="overall coverage by day, linear in between (overrides `coverage`)"
    )
    sensors: bool = Field(True, description="cameras and infrared sensors along the fence")
    integrity_decay_per_day: Fraction = 0.0005
    breach_hours: float = Field(4.0, ge=0.0, le=240.0, description="time to cut through, hours")
    breach_damage_km: float = Field(
        0.05, ge=0.0, le=100.0, description="fence put out of action by one breach, km"
    )
    sensor_alert_probability: Fraction = Field(
        0.2, description="chance that sensors flag a breach to the nearest patrol"
    )
    cost_usd_per_km: NonNegative = FENCE_COST_USD_PER_KM
    maintenance_usd_per_km_year: NonNegative = 5_000.0
    # Civilians at the fence (rules/crossing.py). Assumptions: no source gives a per-attempt figure
    # for the Durand Line fence, so the passage chance is the even chance of no knowledge either
    # way (a double fence with coiled wire and forts, against reports of cut sections, gaps and
    # paid guides); the fee is a fraction of the PKR 40,000-120,000 (US$140-420) reported in 2023
    # for trafficking one person from Afghanistan by way of Torkham, which includes the onward
    # journey; a gap is watched less than it is used.
    civilian_passage_probability: Fraction = Field(
        0.5,
        description="chance that a civilian group meeting the fence finds a way through "
        "(a gap, a damaged section, a paid guide or a bribe); else it turns back",
    )
    passage_fee_usd: float = Field(
        50.0, ge=0.0, le=10_000.0, description="fee per person for passage through the fence, US$"
    )
    passage_detection_probability: Fraction = Field(
        0.1, description="chance that a post or camera watching a gap sees a group going through"
    )

    @field_validator("sectors")
    @classmethod
    def _known_sectors(cls, value: dict[str, float]) -> dict[str, float]:
        check_names(value, sector_names(), "sector")
        return value

    @field_validator("schedule")
    @classmethod
    def _increasing_days(cls, value: tuple[FencePoint, ...]) -> tuple[FencePoint, ...]:
        days = [p.day for p in value]
        if days != sorted(set(days)):
            raise ValueError(f"schedule days must be strictly increasing, got {days}")
        return value

    def coverage_on(self, day: float) -> float:
        """Overall coverage on a given day (before per-sector overrides)."""
        if not self.schedule:
            return self.coverage
        days = [p.day for p in self.schedule]
        values = [p.coverage for p in self.schedule]
        return float(np.interp(day, days, values))


class Closure(StrictModel):
    """A gate closed from ``start`` (inclusive) to ``end`` (exclusive), in model days.

    A file may give either as a calendar date; it is turned into a model day on load.
    """

    start: Day
    end: Day
    reason: str = ""
    source: str = Field("", description="where the closure was reported")

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


# What a traveller must show at a gate (the lever of the document regimes):
# * "open": no document checked in practice (Torkham before June 2016: of 3,708 Afghans entering
#   one day, 160 had documents; Torkham police via tribune.com.pk/story/734277);
# * "border_permit": a tazkira or border-resident card is enough (Chaman before November 2023);
# * "passport_visa": passport and visa (Torkham from June 2016; every crossing from November 2023,
#   the "one-document regime").
DocumentRegime = Literal["open", "border_permit", "passport_visa"]
DOCUMENT_REGIMES: tuple[DocumentRegime, ...] = get_args(DocumentRegime)
NO_DOCUMENT_CHECK: DocumentRegime = "open"


class CrossingPolicy(StrictModel):
    """Status, opening hours, documents and throughput of one official crossing."""

    open: bool = True
    capacity_people_per_day: int = Field(
        2_000, ge=0, le=1_000_000, description="people a day when open 24 hours"
    )
    capacity_trucks_per_day: int = Field(
        200, ge=0, le=100_000, description="trucks a day when open 24 hours"
    )
    hours_open: float = Field(
        24.0, gt=0.0, le=24.0, description="hours a day the gate works (capacity scales with it)"
    )
    processing_hours: float = Field(6.0, ge=0.0, le=720.0)
    document_regime: DocumentRegime = Field(
        "passport_visa", description="what a traveller must show to cross"
    )
    humanitarian_people_per_day: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="patients, families and returnees let through a day while the gate is closed",
    )
    tariff_pct: float = Field(
        20.0, ge=0.0, le=500.0, description="duties, fees and informal payments, % of value"
    )
    closures: tuple[Closure, ...] = ()


# Assumption: capacities on a 24-hour day, and opening hours, of the gates in normal times (2025).
# Torkham works 24/7 since September 2019, when trucks rose from ~700 a day on a 12-hour day to
# ~1,600 (urdupoint.com 2019-09-15; dawn.com/news/1505914); the other gates keep a 12-hour day
# (customs open 12 h/day, SIGAR 2022). People: what the gates can pass, not what they carry.
# Torkham carried >20,000 a day before June 2016 (IOM 2017), so 25,000 on its 24-hour day; Chaman
# carried 25,000-30,000 a day on its 12-hour day (IOM 2017), so 60,000 for 24 hours (30,000 on its
# day); the small gates pass one to three thousand on a 24-hour day (assumption). Gursal (trade closed
# since 2011) and Nawa Pass (since 2007) start closed, as the geography reference records.
DEFAULT_CROSSINGS: dict[str, dict[str, Any]] = {
    "Torkham": {"capacity_people_per_day": 25_000, "capacity_trucks_per_day": 1_500},
    "Chaman": {"capacity_people_per_day": 60_000, "capacity_trucks_per_day": 2_600, "hours_open": 12.0},
    "Angoor Adda": {"capacity_people_per_day": 2_000, "capacity_trucks_per_day": 900, "hours_open": 12.0},
    "Ghulam Khan": {"capacity_people_per_day": 3_000, "capacity_trucks_per_day": 1_300, "hours_open": 12.0},
    "Kharlachi": {"capacity_people_per_day": 2_000, "capacity_trucks_per_day": 1_200, "hours_open": 12.0},
    "Arandu": {"capacity_people_per_day": 1_000, "capacity_trucks_per_day": 200, "hours_open": 12.0},
    "Badini": {"capacity_people_per_day": 1_000, "capacity_trucks_per_day": 200, "hours_open": 12.0},
    "Gursal": {"open": False, "capacity_people_per_day": 500, "capacity_trucks_per_day": 0},
    "Nawa Pass": {"open": False, "capacity_people_per_day": 500, "capacity_trucks_per_day": 0},
}  # fmt: skip


def per_gate_over_defaults(
    value: Any, defaults: Mapping[str, Mapping[str, Any]], table_type: type[BaseModel]
) -> Any:
    """A file's per-gate tables merged over the defaults, so that every known gate is present.

    Args:
        value: What the file gives (a mapping of gate name to table), before validation.
        defaults: Each gate's default fields.
        table_type: The model of one gate's table (an instance is taken as its fields).

    Returns:
        The merged tables, or ``value`` itself when it is not a mapping of tables, so that pydantic
        reports the wrong type at its own key.
    """
    if not isinstance(value, Mapping):
        return value
    check_names(value, crossing_names(), "crossing")
    merged = {name: dict(defaults.get(name, {})) for name in crossing_names()}
    for name, table in value.items():
        if isinstance(table, table_type):
            table = table.model_dump()
        if not isinstance(table, Mapping):
            return value
        merged[name].update(table)
    return merged


def normally_open_gates() -> tuple[str, ...]:
    """Gates open in normal times (the defaults above); closed days are counted against these."""
    return tuple(g for g in crossing_names() if DEFAULT_CROSSINGS.get(g, {}).get("open", True))


class Corridor(StrictModel):
    """A 24/7 trade corridor through chosen gates, exempt from closures and trigger rules."""

    enabled: bool = False
    gates: tuple[str, ...] = ("Torkham", "Chaman")
    capacity_multiplier: float = Field(2.0, ge=1.0, le=20.0)
    processing_factor: float = Field(
        0.5, gt=0.0, le=1.0, description="fast-track: share of the normal processing time"
    )
    exempt_from_closures: bool = True
    screening: Fraction = Field(
        0.5, description="probability that cargo screening catches militant misuse"
    )
    cost_usd_per_year: NonNegative = 20e6

    @field_validator("gates")
    @classmethod
    def _known_gates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_names(value, crossing_names(), "crossing")
        return value


class PatrolParams(StrictModel):
    """Border-force units, how they are allocated and their rules of engagement."""

    units: int = Field(600, ge=0, le=1_000_000)
    strategy: PatrolStrategy = "static"
    sector_weights: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="multiplier on a sector's share of units (e.g. a surge: { Khyber = 5.0 })",
    )
    lethal_force: bool = Field(False, description="rules of engagement: shoot-to-kill (2017)")
    detection_probability: Fraction = Field(
        0.3, description="chance that a crosser passing the stretch a unit watches is seen"
    )
    joint_mechanism: bool = Field(False, description="joint patrolling with the Afghan side")
    joint_detection_bonus: Fraction = 0.15
    interdiction_probability: Fraction = Field(
        0.6, description="chance that a detected crosser is stopped (0.8 under lethal force)"
    )
    lethal_interdiction_probability: Fraction = 0.8
    lethal_death_probability: Fraction = Field(
        0.001, description="chance that a stopped civilian person is killed under lethal force"
    )
    militant_kill_probability: Fraction = Field(
        0.5, description="chance that a stopped militant cell is killed (else captured)"
    )
    repair_km_per_unit_day: float = Field(0.02, ge=0.0, le=10.0)
    adaptive_memory_days: float = Field(14.0, gt=0.0, le=365.0)
    coverage_km_per_unit: float = Field(
        2.0, gt=0.0, le=1_000.0, description="length of border one unit watches on a day, km"
    )
    cost_usd_per_unit_year: NonNegative = 250_000.0

    @field_validator("sector_weights")
    @classmethod
    def _known_sectors(cls, value: dict[str, float]) -> dict[str, float]:
        check_names(value, sector_names(), "sector")
        return value


class Deportation(StrictModel):
    """A deportation drive of undocumented Afghans in Pakistan."""

    enabled: bool = False
    start_day: Day = 0
    end_day: Day | None = None
    daily_rate: int = Field(1_000, ge=0, le=1_000_000, description="people per day")
    include_registered: bool = Field(
        False, description="loss of status: registered (PoR) holders are liable too (seed 004)"
    )
    cost_usd_per_person: NonNegative = 50.0

    def active_on(self, day: float) -> bool:
        """Whether the drive runs on a day."""
        return (
            self.enabled and day >= self.start_day and (self.end_day is None or day < self.end_day)
        )

    @model_validator(mode="after")
    def _ordered(self) -> Deportation:
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day ({self.end_day}) must be after start_day ({self.start_day})")
        return self


class MilitantParams(StrictModel):
    """Where militant cells shelter and how active they are."""

    sanctuaries: tuple[str, ...] = ("Kunar", "Nangarhar", "Khost+Paktia", "Paktika")
    sanctuary_capacity: float = Field(
        1.0, ge=0.0, le=10.0, description="multiplier on cells based in the sanctuaries"
    )
    targets: tuple[str, ...] = (
        "Khyber Pakhtunkhwa+Federally Administered Tribal Areas",
        "Balochistan",
    )
    infiltrations_per_cell_year: float = Field(0.6, ge=0.0, le=365.0)
    attack_success: Fraction = Field(
        0.7, description="chance that a cell reaching its target attacks"
    )
    days_at_target: float = Field(3.0, ge=0.0, le=365.0, description="days before the attack")
    risk_aversion_hours: float = Field(
        200.0, ge=0.0, description="travel hours a cell would trade for certain interdiction"
    )
    learning_rate: Fraction = Field(
        0.2, description="weight of the latest losses in risk estimates"
    )
    choice_noise_hours: float = Field(
        10.0, gt=0.0, description="scale of idiosyncratic route preferences (Gumbel), hours"
    )
    replacement_days: float = Field(
        90.0, gt=0.0, description="mean time to replace a lost cell from the sanctuaries"
    )
    corridor_misuse_share: Fraction = Field(
        0.1, description="share of infiltrations that try to hide in corridor cargo, if any"
    )
    # Attacks by groups based in Pakistan, which do not cross the line: Baloch nationalist
    # insurgents above all, and TTP cells living in Khyber Pakhtunkhwa. PIPS counts them with the
    # rest. Fitted (calibration/), before the conditions' multiplier.
    domestic_attacks_kp: float = Field(
        0.0,
        ge=0.0,
        le=10_000.0,
        description="attacks a year in Khyber Pakhtunkhwa by groups based in Pakistan",
    )
    domestic_attacks_balochistan: float = Field(
        0.0,
        ge=0.0,
        le=10_000.0,
        description="attacks a year in Balochistan by groups based in Pakistan",
    )

    @field_validator("sanctuaries", "targets")
    @classmethod
    def _known_provinces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_names(value, province_names(), "province")
        return value

    @field_validator("targets")
    @classmethod
    def _some_target(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Every cell picks a target town: with none, the model has nothing to draw from.
        if not value:
            raise ValueError(
                f"at least one province is needed (allowed: {', '.join(province_names())})"
            )
        return value


class TraderParams(StrictModel):
    """How trucks move trade between the market towns (one trader agent is one truck)."""

    trip_probability_per_day: Fraction = Field(
        0.5, description="chance that an idle truck finds a load (or sets off empty) on a day"
    )
    margin_share: Fraction = Field(
        0.5, description="what a load is worth to its trader over its cost, share of its value"
    )
    time_cost_usd_per_day: NonNegative = Field(
        175.0,
        description="truck, crew and demurrage a day (US$150-200 a vehicle, 2025 closure reports)",
    )
    expected_closure_days: float = Field(
        3.0,
        ge=0.0,
        description="how long traders expect a closed gate to stay closed (or as long again as "
        "it has lasted, if longer)",
    )
    redecide_probability_per_day: Fraction = Field(
        0.3, description="chance that a truck stranded at a closed gate reconsiders on a day"
    )
    smuggling_cost_share: Fraction = Field(
        0.06,
        description="porters, bribes and pack animals, as a share of a compact load's value",
    )
    seizure_given_detection: Fraction = Field(
        0.4,
        description="chance that a detected pack train is seized (bribes and escapes, seed 000)",
    )
    smuggling_speed_factor: float = Field(
        1.5, gt=0.0, le=10.0, description="pack trains are this much slower than walkers"
    )
    turnaround_days: float = Field(
        1.0, ge=0.0, le=60.0, description="days to unload and turn a truck round"
    )
    market_size_exponent: float = Field(
        0.5,
        ge=0.0,
        le=3.0,
        description="a market's pull on its gate's trucks: its population to this power",
    )


class RefugeeParams(StrictModel):
    """Push and pull factors of refugee, returnee and border-community movement."""

    voluntary_return_per_year: Fraction = Field(
        0.03, description="share of Afghans in Pakistan returning of their own accord per year"
    )
    displacement_per_year: Fraction = Field(
        0.05, description="share of the displaced in Afghanistan setting off for Pakistan per year"
    )
    conflict_intensity: float = Field(
        1.0, ge=0.0, le=10.0, description="push factor multiplier (conflict in Afghanistan)"
    )
    documented_share_af: Fraction = Field(
        0.2, description="share of those leaving Afghanistan with passports/visas"
    )
    community_trips_per_year: float = Field(12.0, ge=0.0, le=365.0)
    community_range_km: float = Field(30.0, gt=0.0, le=300.0)
    redecide_probability_per_day: Fraction = Field(
        0.1, description="chance that a group stranded at a closed gate tries the mountains"
    )
    terrain_death_per_hour: float = Field(
        4e-7,
        ge=0.0,
        le=1.0,
        description="risk of death per person per hour of irregular walking on flat ground (0.2 h/km)",
    )
    risk_aversion_hours: float = Field(100.0, ge=0.0)


class Catchment(StrictModel):
    """The people living near one gate who use it regularly, and the documents they hold."""

    people: int = Field(
        0, ge=0, le=10_000_000, description="regular users of the gate, people (read at the start)"
    )
    pakistan_side_share: Fraction = Field(0.3, description="share living on the Pakistani side")
    passport_visa_share: Fraction = Field(0.3, description="share holding a passport and visa")
    border_permit_share: Fraction = Field(
        0.5, description="share holding only a tazkira or border-resident card"
    )

    @model_validator(mode="after")
    def _shares_add_up(self) -> Catchment:
        held = self.passport_visa_share + self.border_permit_share
        if held > 1.0 + 1e-9:
            raise ValueError(
                f"passport_visa_share + border_permit_share is {held:g} (allowed: at most 1)"
            )
        return self


# The regular users of each gate (2025), sized so that the baseline carries the published flows
# under the passport-and-visa regime: Torkham ~10,000 people a day (2019-2025; mashriqtv.pk
# 2025-03-08), all crossings ~13,000 a day (March 2023, official; nation.com.pk). Each person
# makes ~0.28 crossings a day on average (the purposes in borderabm/rules/gate_travellers.py).
# * Torkham: ~17,000 a day would cross if anyone could (>20,000 before June 2016, IOM 2017;
#   ~10,300 in 2014, Torkham police); assumption: 60% hold a passport and visa in 2025 (it was
#   ~13% in 2016: 2,000-2,500 Afghans a day passed once they were required, IOM 2017); few
#   Pakistanis (30-40 a day in 2014, tribune.com.pk/story/734277).
# * Chaman: 25,000-30,000 a day both ways before the one-document regime (IOM 2017), mostly Chaman
#   residents crossing each morning (>15,000, newslens.pk 2016) on a tazkira or local card;
#   assumption: 8% hold a passport and visa, so far fewer cross since November 2023.
# * The small gates: assumption, a few hundred a day each in 2025.
DEFAULT_CATCHMENTS: dict[str, dict[str, Any]] = {
    "Torkham": {"people": 55_000, "pakistan_side_share": 0.05, "passport_visa_share": 0.6,
                "border_permit_share": 0.3},
    "Chaman": {"people": 80_000, "pakistan_side_share": 0.6, "passport_visa_share": 0.08,
               "border_permit_share": 0.8},
    "Angoor Adda": {"people": 2_900},
    "Ghulam Khan": {"people": 5_400},
    "Kharlachi": {"people": 2_900},
    "Arandu": {"people": 1_100},
    "Badini": {"people": 1_100},
}  # fmt: skip


class GateTravellerParams(StrictModel):
    """People who cross the official gates every day: labourers, traders, patients, students, kin.

    Who cannot meet a gate's document regime gives the trip up, is turned away at the gate, or
    crosses irregularly; who is stranded at a closed gate keeps waiting, goes back, diverts to
    another gate or crosses irregularly. The probabilities of each are assumptions.
    """

    catchments: dict[str, Catchment] = Field(default_factory=dict, validate_default=True)
    people_scale: float = Field(
        1.0,
        gt=0.0,
        le=100.0,
        description="multiplier on every catchment's people (the calibration fits it to the flows)",
    )
    turned_away_probability: Fraction = Field(
        0.02,
        description="chance that a trip without the documents asked for ends refused at the gate "
        "(5-6 thousand Afghans refused a month in 2023, official)",
    )
    irregular_probability: Fraction = Field(
        0.1, description="chance that a trip without the documents asked for goes irregularly"
    )
    give_up_per_day: Fraction = Field(
        0.2, description="chance a day that a traveller waiting at a closed gate goes back"
    )
    divert_per_day: Fraction = Field(
        0.05, description="chance a day that one waiting at a closed gate tries another gate"
    )
    irregular_per_day: Fraction = Field(
        0.05, description="chance a day that one waiting at a closed gate crosses irregularly"
    )
    retry_days: float = Field(
        2.0, ge=0.0, le=365.0, description="days before a traveller who went back tries again"
    )

    @field_validator("catchments", mode="before")
    @classmethod
    def _fill_catchments(cls, value: Any) -> Any:
        """Merge the file's per-gate tables over the defaults; every known gate is present."""
        return per_gate_over_defaults(value, DEFAULT_CATCHMENTS, Catchment)

    @model_validator(mode="after")
    def _probabilities_add_up(self) -> GateTravellerParams:
        for names in (("turned_away_probability", "irregular_probability"),
                      ("give_up_per_day", "divert_per_day", "irregular_per_day")):  # fmt: skip
            total = sum(getattr(self, name) for name in names)
            if total > 1.0 + 1e-9:
                raise ValueError(f"{' + '.join(names)} is {total:g} (allowed: at most 1)")
        return self


class Trigger(StrictModel):
    """If ``metric`` summed over the last ``window_days`` exceeds ``threshold``, close gates."""

    name: str = "trigger"
    metric: TriggerMetric = MetricName.ATTACKS.value
    window_days: int = Field(30, ge=1, le=3650)
    threshold: float = Field(10.0, ge=0.0)
    crossings: tuple[str, ...] = ("all",)
    duration_days: int = Field(30, ge=1, le=3650)
    cooldown_days: int = Field(
        0, ge=0, le=3650, description="days after reopening before re-arming"
    )

    @field_validator("crossings")
    @classmethod
    def _known_gates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value != ("all",):
            check_names(value, crossing_names(), "crossing")
        return value

    def gates(self) -> tuple[str, ...]:
        """The crossings this trigger closes."""
        return crossing_names() if self.crossings == ("all",) else self.crossings


class Change(StrictModel):
    """From ``day`` on, set policy fields (dotted keys, as with ``--set``) to new values.

    A file may give ``date`` (a calendar date) instead of ``day``; the day is computed from it and
    the scenario's ``start_date`` on load, and the date is kept for reports.
    """

    day: Day
    set: dict[str, Any]
    date: dt.date | None = Field(None, description="calendar date of the change, if given as one")
    source: str = Field("", description="where the event was recorded")
    note: str = Field("", description="what happened")


# The conditions behind militancy that the record dates (issue 13). How strongly each acts is an
# uncertain parameter with a prior (calibration/), never a number set per year; which are in force
# on a day is a dated event (``conditions.active``).
ConditionName = Literal["military_operations", "afghan_sanctuary", "ceasefire"]
CONDITION_NAMES: tuple[ConditionName, ...] = get_args(ConditionName)


class Conditions(StrictModel):
    """Conditions in force and their strengths, as multipliers on militant activity.

    Militant activity is the cells' infiltration hazard and the attack rate of groups based in
    Pakistan (:class:`MilitantParams`); each active condition multiplies both by its strength.
    """

    active: tuple[ConditionName, ...] = Field((), description="conditions in force")
    military_operations: float = Field(
        0.6,
        ge=0.0,
        le=10.0,
        description="multiplier while military operations clear the tribal areas "
        "(Zarb-e-Azb from June 2014 and the operations after it)",
    )
    afghan_sanctuary: float = Field(
        2.0,
        ge=0.0,
        le=10.0,
        description="multiplier while the Taliban rule Afghanistan (from August 2021): "
        "sanctuary and freedom of movement for the TTP across the line",
    )
    ceasefire: float = Field(
        0.3,
        ge=0.0,
        le=10.0,
        description="multiplier during a TTP ceasefire (June-November 2022)",
    )

    @field_validator("active")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed twice (allowed: each condition once)")
        return value

    @property
    def militancy_multiplier(self) -> float:
        """The product of the strengths of the conditions in force (1 with none)."""
        return float(np.prod([getattr(self, name) for name in sorted(set(self.active))]))


class Scenario(StrictModel):
    """One fully validated, immutable scenario."""

    name: str = Field("scenario", min_length=1)  # it labels tables, charts and results folders
    description: str = ""
    start_date: dt.date = Field(dt.date(2025, 1, 1), description="calendar date of day 0")
    horizon_days: int = Field(365, ge=1, le=36_500)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    map: MapSettings = MapSettings()
    scale: Scale = Scale()
    population: Population = Population()
    fence: Fence = Fence()
    crossings: dict[str, CrossingPolicy] = Field(default_factory=dict, validate_default=True)
    corridor: Corridor = Corridor()
    patrols: PatrolParams = PatrolParams()
    deportation: Deportation = Deportation()
    militants: MilitantParams = MilitantParams()
    traders: TraderParams = TraderParams()
    refugees: RefugeeParams = RefugeeParams()
    gate_travellers: GateTravellerParams = GateTravellerParams()
    conditions: Conditions = Conditions()
    triggers: tuple[Trigger, ...] = ()
    changes: tuple[Change, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _dates_to_days(cls, data: Any) -> Any:
        """Turn the calendar dates of changes, closures and fence points into model days."""
        return dates_to_days(data) if isinstance(data, Mapping) else data

    @field_validator("crossings", mode="before")
    @classmethod
    def _fill_crossings(cls, value: Any) -> Any:
        """Merge the file's per-gate tables over the defaults; every known gate is present."""
        return per_gate_over_defaults(value, DEFAULT_CROSSINGS, CrossingPolicy)

    @model_validator(mode="after")
    def _communities_have_room(self) -> Scenario:
        # Border communities live within community_range_km of the line, off the border cells:
        # the nearest such cell is one grid cell away, so a shorter range leaves them nowhere.
        reach, cell = self.refugees.community_range_km, self.map.resolution_km
        if self.population.has_communities and reach < cell:
            raise ValueError(
                f"refugees.community_range_km: {reach:g} km is less than one grid cell "
                f"(allowed: >= map.resolution_km, here {cell:g})"
            )
        return self

    @field_validator("changes")
    @classmethod
    def _changes_in_policy_sections(cls, value: tuple[Change, ...]) -> tuple[Change, ...]:
        days = [c.day for c in value]
        if days != sorted(days):
            raise ValueError(f"changes must be in day order, got days {days}")
        seen: dict[tuple[int, str], int] = {}
        for index, change in enumerate(value):
            if not change.set:
                raise ValueError(f"changes[{index}] sets nothing (allowed: at least one key)")
            for key in change.set:  # two values for one key on one day: which one holds?
                if (change.day, key) in seen:
                    raise ValueError(f"changes[{index}] sets {key} on the day changes"
                                     f"[{seen[change.day, key]}] sets it (allowed: once a day)")  # fmt: skip
                seen[change.day, key] = index
        for change in value:
            for key in change.set:
                if key.split(".")[0] not in POLICY_SECTIONS:
                    raise ValueError(
                        f"changes may only set policy fields; '{key}' is not in "
                        f"{', '.join(POLICY_SECTIONS)}"
                    )
        return value

    @property
    def end_date(self) -> dt.date:
        """Calendar date of the last simulated day."""
        return self.start_date + dt.timedelta(days=self.horizon_days - 1)

    def events_after_end(self) -> list[str]:
        """The dated events that fall after the last day, so never apply at this horizon.

        They are not errors: a run with more days (``--days``) reaches them.
        """

        def when(day: int) -> str:
            return (self.start_date + dt.timedelta(days=day)).isoformat()

        late = [f"changes[{i}] ({when(c.day)})" for i, c in enumerate(self.changes)
                if c.day >= self.horizon_days]  # fmt: skip
        late += [f"crossings.{gate}.closures[{i}] ({when(c.start)})"
                 for gate, policy in self.crossings.items()
                 for i, c in enumerate(policy.closures) if c.start >= self.horizon_days]  # fmt: skip
        return late  # (a fence point after the end still shapes the build-up before it)


def _as_date(value: Any) -> dt.date | None:
    """A calendar date from a TOML date or an ISO string (as JSON dumps hold), else None."""
    if isinstance(value, dt.datetime):
        return None  # a date and time is not a day: pydantic reports the wrong type
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def dates_to_days(document: Mapping[str, Any]) -> dict[str, Any]:
    """A raw scenario document whose dated entries also carry their model day.

    ``[[changes]]`` and fence schedule points may give ``date`` instead of ``day`` (the date wins
    when both are given, so that a scenario cut at another start date stays right); a closure's
    ``start`` and ``end`` may be dates. Days are counted from ``start_date``.

    Args:
        document: The document as parsed from TOML (or dumped from a scenario).

    Returns:
        A shallow copy with the converted entries replaced; anything else untouched, so that
        pydantic reports wrong types at their own keys.

    Raises:
        ValueError: For the first date before ``start_date``, naming its key.
    """
    start = _as_date(document.get("start_date", Scenario.model_fields["start_date"].default))
    if start is None:
        return dict(document)

    def day_of(value: Any, where: str) -> Any:
        date = _as_date(value)
        if date is None:
            return value
        if date < start:
            raise ValueError(
                f"{where}: {date} is before the scenario's start_date {start} "
                "(allowed: a date from the start on)"
            )
        return (date - start).days

    def with_day(entry: Any, where: str) -> Any:
        if not isinstance(entry, Mapping) or entry.get("date") is None:
            return entry
        day = day_of(entry["date"], f"{where}.date")
        return {**entry, "day": day} if isinstance(day, int) else entry

    result = dict(document)
    if isinstance(result.get("changes"), list | tuple):
        result["changes"] = [with_day(c, f"changes[{i}]") for i, c in enumerate(result["changes"])]
    fence = result.get("fence")
    if isinstance(fence, Mapping) and isinstance(fence.get("schedule"), list | tuple):
        schedule = [with_day(p, f"fence.schedule[{i}]") for i, p in enumerate(fence["schedule"])]
        result["fence"] = {**fence, "schedule": schedule}
    crossings = result.get("crossings")
    if isinstance(crossings, Mapping):
        converted = {}
        for gate, table in crossings.items():
            if isinstance(table, Mapping) and isinstance(table.get("closures"), list | tuple):
                closures = [
                    {
                        k: day_of(v, f"crossings.{gate}.closures[{i}].{k}")
                        if k in ("start", "end")
                        else v
                        for k, v in c.items()
                    }
                    if isinstance(c, Mapping)
                    else c
                    for i, c in enumerate(table["closures"])
                ]
                table = {**table, "closures": closures}
            converted[gate] = table
        result["crossings"] = converted
    return result
