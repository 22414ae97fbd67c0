"""Scenario files: TOML validated into one immutable :class:`Scenario`.

A scenario holds the run settings (horizon, seed, map), the populations and every policy lever.
Dated policy changes are data: closures carry their days, the fence has a construction schedule,
trigger rules fire on metrics, and ``[[changes]]`` sets any policy field from a given day on.

Every way a document can be wrong ends in :class:`ScenarioError`, whose lines name the file, the key
path and what is allowed; nothing here lets another exception escape for bad input.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from borderabm.gazetteer import crossing_names, sector_names

# The scenarios, sweeps and calibration specs ship inside the package (a wheel installed anywhere
# finds them); the checkout's top-level scenarios/, sweeps/ and calibration/ are links to them.
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED_KINDS = ("scenarios", "sweeps", "calibration")


def packaged_dir(kind: str) -> Path:
    """The package's folder of shipped ``scenarios``, ``sweeps`` or ``calibration`` specs."""
    if kind not in SHIPPED_KINDS:
        raise ValueError(f"no shipped {kind!r} (allowed: {', '.join(SHIPPED_KINDS)})")
    return PACKAGE_DATA / kind


def shipped_scenarios_dir() -> Path:
    """Where the scenarios live: ``$BORDERABM_SCENARIOS``, else the package's own."""
    configured = os.environ.get("BORDERABM_SCENARIOS")
    if configured:
        return Path(configured)
    return packaged_dir("scenarios")


def resolve_shipped_file(name_or_path: str | Path, kind: str) -> Path:
    """A file argument: a path to a TOML file, else the name of a shipped file of that kind.

    ``borderabm sweep fence_patrols`` and ``borderabm calibrate baseline`` name shipped files;
    anything that exists, or ends in ``.toml``, is taken as a path.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml":
        return path
    return packaged_dir(kind) / f"{name_or_path}.toml"


def resolve_scenario_path(name_or_path: str) -> Path:
    """A scenario argument: a path to a TOML file, or the name of a scenario.

    Names are looked up in ``$BORDERABM_SCENARIOS`` (when set) and then among the shipped ones.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml":
        return path
    configured = shipped_scenarios_dir() / f"{name_or_path}.toml"
    if configured.exists():
        return configured
    return packaged_dir("scenarios") / f"{name_or_path}.toml"


def resolve_relative(entry: str, folder: Path) -> Path:
    """A scenario named in a sweep or spec file: beside that file, else a path or a shipped name."""
    beside = folder / entry
    if beside.exists():
        return beside
    return resolve_scenario_path(entry)


PROVINCE_NAMES = (
    "Nangarhar",
    "Kunar",
    "Nuristan",
    "Khost+Paktia",
    "Paktika",
    "Kandahar+Zabul+Helmand",
    "Kabul",
    "Logar",
    "Badakhshan",
    "Balochistan",
    "Khyber Pakhtunkhwa+Federally Administered Tribal Areas",
)
"""Provinces that can host militant sanctuaries or targets (admin-1 names of the world)."""

# Sections that dated changes may touch: the policy levers, not the run settings or populations.
POLICY_SECTIONS = (
    "fence",
    "crossings",
    "corridor",
    "patrols",
    "deportation",
    "militants",
    "traders",
    "refugees",
)
TriggerMetric = Literal["attacks", "militant_crossings", "fence_breaches", "border_deaths"]

# Published anchor: ~US$550 million for ~2,600 km of fence (news reports, shared geo README).
FENCE_COST_USD_PER_KM = 550e6 / 2600.0

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Day = Annotated[int, Field(ge=0, le=36_500)]
NonNegative = Annotated[float, Field(ge=0.0)]


class ScenarioError(Exception):
    """A scenario (or override) that cannot be used, with one line per problem."""

    def __init__(self, source: str, problems: Iterable[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # JSON has no inf


def _suggest(name: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}(allowed: {', '.join(allowed)})"


def _check_names(values: Iterable[str], allowed: tuple[str, ...], what: str) -> None:
    for value in values:
        if value not in allowed:
            raise ValueError(f"unknown {what} '{value}'; {_suggest(value, allowed)}")


# --------------------------------------------------------------------------------------------
# Run settings and populations
# --------------------------------------------------------------------------------------------
class MapSettings(_Section):
    """The grid the world is built on."""

    resolution_km: float = Field(5.0, ge=2.0, le=20.0, description="cell side, km")
    buffer_km: float = Field(150.0, ge=0.0, le=500.0, description="belt beyond the line, km")


class Scale(_Section):
    """What one agent stands for, so that metrics come out in real units."""

    people_per_agent: int = Field(50, ge=1, le=100_000, description="refugees per family agent")
    fighters_per_cell: int = Field(5, ge=1, le=1_000, description="militants per cell agent")
    usd_per_consignment: float = Field(
        20_000.0, ge=1.0, le=1e9, description="mean value of one trader consignment, US$"
    )


class Population(_Section):
    """How many agents of each kind start the run (patrol units are a policy: ``patrols.units``)."""

    traders: int = Field(2_000, ge=0, le=5_000_000)
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


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------
class FencePoint(_Section):
    """One point of the fence construction schedule."""

    day: Day
    coverage: Fraction


class Fence(_Section):
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

    @field_validator("sectors")
    @classmethod
    def _known_sectors(cls, value: dict[str, float]) -> dict[str, float]:
        _check_names(value, sector_names(), "sector")
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


class Closure(_Section):
    """A gate closed from ``start`` (inclusive) to ``end`` (exclusive), in model days."""

    start: Day
    end: Day
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class CrossingPolicy(_Section):
    """Status and throughput of one official crossing."""

    open: bool = True
    capacity_people_per_day: int = Field(2_000, ge=0, le=1_000_000)
    capacity_trucks_per_day: int = Field(200, ge=0, le=100_000)
    processing_hours: float = Field(6.0, ge=0.0, le=720.0)
    documents_required: bool = True
    tariff_pct: float = Field(
        20.0, ge=0.0, le=500.0, description="duties, fees and informal payments, % of value"
    )
    closures: tuple[Closure, ...] = ()

    def is_open_on(self, day: float) -> bool:
        """Whether the gate is open on a day, counting its dated closures."""
        return self.open and not any(c.start <= day < c.end for c in self.closures)


# Assumption: capacities and times of the gates in normal times. Torkham's ~10,000 people/day is a
# calibration target (issue 6); Gursal (trade closed since 2011) and Nawa Pass (since 2007) start
# closed, as the geography reference records.
DEFAULT_CROSSINGS: dict[str, dict[str, Any]] = {
    "Torkham": {"capacity_people_per_day": 10_000, "capacity_trucks_per_day": 1_000},
    "Chaman": {"capacity_people_per_day": 8_000, "capacity_trucks_per_day": 800},
    "Angoor Adda": {"capacity_people_per_day": 1_000, "capacity_trucks_per_day": 100},
    "Ghulam Khan": {"capacity_people_per_day": 1_500, "capacity_trucks_per_day": 300},
    "Kharlachi": {"capacity_people_per_day": 1_000, "capacity_trucks_per_day": 100},
    "Arandu": {"capacity_people_per_day": 500, "capacity_trucks_per_day": 50},
    "Badini": {"capacity_people_per_day": 500, "capacity_trucks_per_day": 100},
    "Gursal": {"open": False, "capacity_people_per_day": 500, "capacity_trucks_per_day": 0},
    "Nawa Pass": {"open": False, "capacity_people_per_day": 500, "capacity_trucks_per_day": 0},
}


def normally_open_gates() -> tuple[str, ...]:
    """Gates open in normal times (the defaults above); closed days are counted against these."""
    return tuple(g for g in crossing_names() if DEFAULT_CROSSINGS.get(g, {}).get("open", True))


class Corridor(_Section):
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
        _check_names(value, crossing_names(), "crossing")
        return value


class Patrols(_Section):
    """Border-force units, how they are allocated and their rules of engagement."""

    units: int = Field(600, ge=0, le=1_000_000)
    strategy: Literal["static", "uniform", "adaptive", "stackelberg"] = "static"
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
        0.05, description="chance that a stopped civilian group suffers a death under lethal force"
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
        _check_names(value, sector_names(), "sector")
        return value


class Deportation(_Section):
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


class Militants(_Section):
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

    @field_validator("sanctuaries", "targets")
    @classmethod
    def _known_provinces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _check_names(value, PROVINCE_NAMES, "province")
        return value

    @field_validator("targets")
    @classmethod
    def _some_target(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Every cell picks a target town: with none, the model has nothing to draw from.
        if not value:
            raise ValueError(
                f"at least one province is needed (allowed: {', '.join(PROVINCE_NAMES)})"
            )
        return value


class Traders(_Section):
    """How traders move consignments between the market towns."""

    trip_probability_per_day: Fraction = Field(
        0.1, description="chance that an idle consignment starts a trip on a day"
    )
    margin_share: Fraction = Field(0.3, description="gross margin on a delivered consignment")
    time_cost_usd_per_day: NonNegative = Field(400.0, description="truck, crew and spoilage")
    expected_closure_days: float = Field(
        10.0, ge=0.0, description="how long traders expect a closed gate to stay closed"
    )
    redecide_probability_per_day: Fraction = Field(
        0.3, description="chance that a trader stuck at a closed gate reconsiders on a day"
    )
    smuggling_cost_share: Fraction = Field(
        0.06, description="porters, bribes and pack animals, as a share of the value"
    )
    seizure_given_detection: Fraction = Field(
        0.4,
        description="chance that a detected pack train is seized (bribes and escapes, seed 000)",
    )
    smuggling_speed_factor: float = Field(
        1.5, gt=0.0, le=10.0, description="pack trains are this much slower than walkers"
    )
    turnaround_days: float = Field(2.0, ge=0.0, le=60.0)
    market_size_exponent: float = Field(
        0.5, ge=0.0, le=3.0, description="a market's pull: its population to this power (gravity)"
    )


class Refugees(_Section):
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
        2e-5, ge=0.0, le=1.0, description="risk per hour of irregular walking at 1 h/km terrain"
    )
    risk_aversion_hours: float = Field(100.0, ge=0.0)


class Trigger(_Section):
    """If ``metric`` summed over the last ``window_days`` exceeds ``threshold``, close gates."""

    name: str = "trigger"
    metric: TriggerMetric = "attacks"
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
            _check_names(value, crossing_names(), "crossing")
        return value

    def gates(self) -> tuple[str, ...]:
        """The crossings this trigger closes."""
        return crossing_names() if self.crossings == ("all",) else self.crossings


class Change(_Section):
    """From ``day`` on, set policy fields (dotted keys, as with ``--set``) to new values."""

    day: Day
    set: dict[str, Any]


class Scenario(_Section):
    """One fully validated, immutable scenario."""

    name: str = "scenario"
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
    patrols: Patrols = Patrols()
    deportation: Deportation = Deportation()
    militants: Militants = Militants()
    traders: Traders = Traders()
    refugees: Refugees = Refugees()
    triggers: tuple[Trigger, ...] = ()
    changes: tuple[Change, ...] = ()

    @field_validator("crossings", mode="before")
    @classmethod
    def _fill_crossings(cls, value: Any) -> Any:
        """Merge the file's per-gate tables over the defaults; every known gate is present."""
        if not isinstance(value, Mapping):
            return value
        _check_names(value, crossing_names(), "crossing")
        merged = {name: dict(DEFAULT_CROSSINGS.get(name, {})) for name in crossing_names()}
        for name, table in value.items():
            if isinstance(table, CrossingPolicy):
                table = table.model_dump()
            if not isinstance(table, Mapping):
                return value  # let pydantic report the wrong type at crossings.<name>
            merged[name].update(table)
        return merged

    @model_validator(mode="after")
    def _communities_have_room(self) -> Scenario:
        # Border communities live within community_range_km of the line, off the border cells:
        # the nearest such cell is one grid cell away, so a shorter range leaves them nowhere.
        has_communities = self.population.refugees > 0 and self.population.community_share > 0
        reach, cell = self.refugees.community_range_km, self.map.resolution_km
        if has_communities and reach < cell:
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

    def crossing_open_on(self, name: str, day: float) -> bool:
        """Whether a gate is open on a day by its own status and closures (triggers aside)."""
        if (
            self.corridor.enabled
            and self.corridor.exempt_from_closures
            and name in self.corridor.gates
        ):
            return True
        return self.crossings[name].is_open_on(day)


# --------------------------------------------------------------------------------------------
# Loading, overriding and error reporting
# --------------------------------------------------------------------------------------------
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
# No input of ours nests tables or arrays more than a few levels; deeper documents are refused
# before anything recurses through them (deepcopy, pydantic, JSON) and hits Python's limit.
MAX_NESTING = 32


def nesting_depth(value: Any) -> int:
    """How deeply tables and arrays nest in a parsed value (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(where: str) -> str:
    return f"{where}: tables or arrays nested too deeply (allowed: at most {MAX_NESTING} levels)"


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML, turning syntax errors into ``source:line:column`` messages.

    Raises:
        ScenarioError: For bad TOML, nesting deeper than :data:`MAX_NESTING` or an integer too
            long for Python to read.
    """
    try:
        document = tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(source, [_too_deep("(document)")]) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        if position:
            line, column = position.groups()
            detail = _TOML_POSITION.sub("", message)
            raise ScenarioError(
                source, [f"line {line}, column {column}: TOML syntax error: {detail}"]
            ) from None
        detail = _TOML_END.sub("", message)
        raise ScenarioError(source, [f"at end of file: TOML syntax error: {detail}"]) from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise ScenarioError(source, [f"(document): cannot read a value: {error}"]) from None
    if nesting_depth(document) > MAX_NESTING:
        raise ScenarioError(source, [_too_deep("(document)")])
    return document


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML literal (``1.0``, ``true``, ``"x"``, ``[1, 2]``) or a bare word.

    Raises:
        ScenarioError: For a value nested deeper than :data:`MAX_NESTING` levels, or an integer
            too long for Python to read.
    """
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ScenarioError("--set", [_too_deep(f"'{text[:40]}...'")]) from None
    except ValueError as error:
        raise ScenarioError("--set", [f"cannot read the value: {error}"]) from None
    if nesting_depth(value) > MAX_NESTING:
        raise ScenarioError("--set", [_too_deep(f"'{text[:40]}...'")])
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.key=value`` into key and parsed value."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part.strip() for part in key.split(".")):
        raise ScenarioError(
            "--set", [f"'{text}' is not of the form dotted.key=value (e.g. fence.coverage=1.0)"]
        )
    return key, parse_value(value.strip())


def apply_overrides(document: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a raw scenario document with dotted-key overrides applied.

    A numeric path part indexes a list (``triggers.0.threshold``).
    """
    result = copy.deepcopy(document)
    for key, value in overrides.items():
        parts = key.split(".")
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            node = _descend(node, part, key, ".".join(parts[: depth + 1]))
        _assign(node, parts[-1], value, key)
    return result


def _descend(node: Any, part: str, key: str, prefix: str) -> Any:
    if isinstance(node, list):
        index = _list_index(node, part, key)
        return node[index]
    if not isinstance(node, dict):
        raise ScenarioError("--set", [f"{key}: '{prefix}' is not a table"])
    child = node.setdefault(part, {})
    if not isinstance(child, dict | list):
        raise ScenarioError("--set", [f"{key}: '{prefix}' is a value, not a table"])
    return child


def _assign(node: Any, part: str, value: Any, key: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, part, key)] = value
    else:
        node[part] = value


def _list_index(node: list, part: str, key: str) -> int:
    if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
        raise ScenarioError(
            "--set", [f"{key}: '{part}' is not an index of a list of {len(node)} items"]
        )
    return int(part)


def validate_document(document: Any, source: str) -> Scenario:
    """Validate a raw document (as parsed from TOML) into a Scenario, or raise ScenarioError."""
    if not isinstance(document, dict):
        raise ScenarioError(source, ["the document must be a TOML table"])
    if nesting_depth(document) > MAX_NESTING:
        raise ScenarioError(source, [_too_deep("(document)")])
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(source, [_describe(e) for e in error.errors()]) from None
    except (TypeError, ValueError, RecursionError) as error:  # pragma: no cover - defensive
        raise ScenarioError(source, [f"invalid scenario: {error}"]) from None
    _check_calendar(scenario, source)
    _check_changes(scenario, document, source)
    return scenario


def _check_calendar(scenario: Scenario, source: str) -> None:
    """The last simulated day must be a date Python can hold (on or before 9999-12-31)."""
    try:
        scenario.start_date + dt.timedelta(days=scenario.horizon_days)
    except OverflowError:
        room = (dt.date.max - scenario.start_date).days
        raise ScenarioError(source, [
            f"horizon_days: {scenario.horizon_days} days from start_date {scenario.start_date} "
            f"run past the end of the calendar (allowed: at most {room} days from that date)"
        ]) from None  # fmt: skip


def _check_changes(scenario: Scenario, document: dict[str, Any], source: str) -> None:
    """Every dated change must itself yield a valid scenario."""
    base = {k: v for k, v in document.items() if k != "changes"}
    for i, change in enumerate(scenario.changes):
        try:
            changed = apply_overrides(base, change.set)
            Scenario.model_validate(changed)
        except ScenarioError as error:
            raise ScenarioError(
                source, [f"changes[{i}].set: {p}" for p in error.problems]
            ) from None
        except ValidationError as error:
            raise ScenarioError(
                source, [f"changes[{i}].set: {_describe(e)}" for e in error.errors()]
            ) from None
        base = changed


# Our TOML files are a few kilobytes; a much larger "file" is a mistake (a device, a data file).
MAX_FILE_BYTES = 16 * 1024 * 1024


def _read_regular_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`.

    A pipe, a terminal or a device (``/dev/zero``) would block or never end, so they are refused
    before reading.

    Raises:
        ScenarioError: For a file that is not a regular file, or is too large.
        OSError: If the file cannot be opened or read.
    """
    status = path.stat()  # before opening: opening a pipe would wait for a writer
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(status.st_mode):
        raise ScenarioError(str(path), [f"not a regular file (allowed: a {what} on disk)"])
    if status.st_size > MAX_FILE_BYTES:
        raise ScenarioError(str(path), [
            f"{status.st_size:,} bytes is too large for a {what} "
            f"(allowed: at most {MAX_FILE_BYTES:,} bytes)"
        ])  # fmt: skip
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def read_toml_file(path: str | Path, what: str) -> tuple[bytes, dict[str, Any]]:
    """The bytes of a TOML file and the document they hold.

    Args:
        path: The file.
        what: What the file should be (for the message about a directory), e.g. "sweep file".

    Raises:
        ScenarioError: For a missing, unreadable or non-UTF-8 file, or bad TOML (line and column).
    """
    source = str(path)
    try:
        raw = _read_regular_file(Path(path), what)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, ["no such file"]) from None
    except IsADirectoryError:
        raise ScenarioError(source, [f"is a directory, not a {what}"]) from None
    except UnicodeDecodeError as error:
        raise ScenarioError(source, [f"not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ScenarioError(source, [f"cannot read: {error.strerror or error}"]) from None
    except ValueError:  # Python refuses paths holding a null byte
        raise ScenarioError(repr(source), ["the file name contains a null byte"]) from None
    return raw, parse_toml(text, source)


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Read, override and validate a scenario file.

    Args:
        path: The TOML file.
        overrides: Dotted keys to set before validation (from ``--set``).

    Raises:
        ScenarioError: For a missing/unreadable file, bad TOML or an invalid scenario.
    """
    path = Path(path)
    source = str(path)
    _, document = read_toml_file(path, "scenario file")
    document.setdefault("name", path.stem)
    if overrides:
        document = apply_overrides(document, overrides)
    return validate_document(document, source)


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str) -> Scenario:
    """A new scenario with dotted-key overrides applied to an existing one."""
    document = scenario.model_dump(mode="json", exclude_defaults=False)
    return validate_document(apply_overrides(document, overrides), source)


def _describe(error: Mapping[str, Any]) -> str:
    """One line for one pydantic error: key path, what was wrong and what is allowed."""
    loc = tuple(error.get("loc", ()))
    path = _format_path(loc)
    kind = error.get("type", "")
    given = error.get("input")
    if kind == "extra_forbidden":
        parent, key = loc[:-1], str(loc[-1])
        allowed = _allowed_keys(parent)
        return f"{path}: unknown key; {_suggest(key, allowed)}"
    if kind == "missing":
        return f"{path}: required key is missing"
    if not loc and kind == "value_error":  # checks across keys name their keys themselves
        return str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    bounds = _bounds_text(loc)
    if kind in {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }:
        if not bounds:
            symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
            ctx = error.get("ctx") or {}
            bounds = " and ".join(f"{symbols[k]} {v}" for k, v in ctx.items() if k in symbols)
        return f"{path}: {given!r} is out of range (allowed: {bounds})"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
    extra = f" (allowed: {bounds})" if bounds else ""
    return f"{path}: {message}{shown}{extra}"


def _format_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


def _schema_at(loc: tuple) -> tuple[Any, list]:
    """Follow an error location through the schema: the annotation there and its constraints."""
    annotation: Any = Scenario
    metadata: list = []
    for part in loc:
        if get_origin(annotation) is tuple:
            annotation, metadata = get_args(annotation)[0], []
            if isinstance(part, int):
                continue
        if get_origin(annotation) is dict:
            annotation, metadata = _unwrap(get_args(annotation)[1])
            continue
        model = _inner_model(annotation)
        if model is None or part not in model.model_fields:
            return None, []
        info = model.model_fields[part]
        annotation, metadata = info.annotation, list(info.metadata)
    return annotation, metadata


def _unwrap(annotation: Any) -> tuple[Any, list]:
    """``Annotated[T, Field(...)]`` to ``(T, constraints)``."""
    if get_origin(annotation) is Annotated:
        inner, *extras = get_args(annotation)
        return inner, [m for extra in extras for m in getattr(extra, "metadata", [extra])]
    return annotation, []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside ``X``, ``tuple[X, ...]``, ``dict[str, X]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _allowed_keys(parent: tuple) -> list[str]:
    model = _inner_model(_schema_at(parent)[0])
    return list(model.model_fields) if model is not None else []


def _bounds_text(loc: tuple) -> str:
    parts = []
    for item in _schema_at(loc)[1]:
        for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(item, attr, None)
            if bound is not None and isinstance(item, annotated_types.BaseMetadata):
                parts.append(f"{symbol} {bound}")
    return " and ".join(parts)
