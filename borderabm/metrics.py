"""Daily metrics in real units: their registry, the counters the rules add to, the run summary.

The schema is fixed here, so that a misspelt metric fails loudly and every run has the same columns:
scalar series, and breakdowns by gate, sector and province (columns ``metric.<name>``). Every metric a
person reads (CLI tables, reports, the browser) takes its label and unit from :data:`METRICS`.
Code outside this registry and the rules names a metric by its :class:`MetricName`, a breakdown
column by :func:`breakdown_column`, and takes the lists several modules show (the headline metrics,
what a trigger may watch, the browser's and the report's charts) from the selections at the end.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

import numpy as np
import pandas as pd


class MetricName(StrEnum):
    """Every name in the registry (:data:`METRICS`): the one spelling of each metric in the code.

    Modules other than this registry, the model's state reporters and the rules that count write
    ``MetricName.ATTACKS``, never ``"attacks"`` (tests/test_metric_names.py scans for it). The
    values are the column names and summary keys that runs write; they never change.
    """

    # Militancy
    MILITANT_CROSSINGS = "militant_crossings"
    MILITANT_INTERDICTIONS = "militant_interdictions"
    MILITANTS_KILLED = "militants_killed"
    MILITANT_RETURNS = "militant_returns"
    ATTACKS = "attacks"
    ATTACKS_KP = "attacks_kp"
    ATTACKS_BALOCHISTAN = "attacks_balochistan"
    DOMESTIC_ATTACKS = "domestic_attacks"
    CORRIDOR_MILITANT_CROSSINGS = "corridor_militant_crossings"
    CORRIDOR_MILITANTS_CAUGHT = "corridor_militants_caught"
    MILITANT_FENCE_BREACHES = "militant_fence_breaches"
    # Trade
    FORMAL_TRADE_USD = "formal_trade_usd"
    INFORMAL_TRADE_USD = "informal_trade_usd"
    SMUGGLING_SEIZURES_USD = "smuggling_seizures_usd"
    TARIFF_REVENUE_USD = "tariff_revenue_usd"
    FORMAL_CONSIGNMENTS = "formal_consignments"
    TRADER_WAIT_DAYS_TOTAL = "trader_wait_days_total"
    TRADER_WAIT_DAYS_MEAN = "trader_wait_days_mean"
    TRADERS_QUEUED = "traders_queued"
    TRADES_GIVEN_UP = "trades_given_up"
    TRADER_DIVERSIONS = "trader_diversions"
    TRADER_SWITCHES_TO_SMUGGLING = "trader_switches_to_smuggling"
    # People
    REFUGEE_CROSSINGS_FORMAL = "refugee_crossings_formal"
    REFUGEE_CROSSINGS_IRREGULAR = "refugee_crossings_irregular"
    FORMAL_RETURNS = "formal_returns"
    DEPORTED_PEOPLE = "deported_people"
    DEPORTEES_CROSSED = "deportees_crossed"
    COMMUNITY_CROSSINGS = "community_crossings"
    COMMUNITY_TRIPS_BLOCKED = "community_trips_blocked"
    COMMUNITY_TRIPS_IMPOSSIBLE = "community_trips_impossible"
    CIVILIAN_INTERDICTIONS = "civilian_interdictions"
    IRREGULAR_ATTEMPTS = "irregular_attempts"
    IRREGULAR_ATTEMPT_RUGGEDNESS_M = "irregular_attempt_ruggedness_m"
    IRREGULAR_RUGGEDNESS_M_MEAN = "irregular_ruggedness_m_mean"
    STRANDED_PEOPLE = "stranded_people"
    STRANDED_PEOPLE_MAX = "stranded_people_max"
    BORDER_DEATHS = "border_deaths"
    REGISTERED_REFUGEES = "registered_refugees"
    REGISTERED_REFUGEES_MEAN = "registered_refugees_mean"
    # People and trucks at the gates (issue 12)
    GATE_PEOPLE = "gate_people"
    GATE_TRUCKS = "gate_trucks"
    STRANDED_TRUCKS = "stranded_trucks"
    STRANDED_TRUCKS_MAX = "stranded_trucks_max"
    TRADE_LOST_USD = "trade_lost_usd"
    PERISHABLE_LOSS_USD = "perishable_loss_usd"
    IRREGULAR_CIVILIAN_CROSSINGS = "irregular_civilian_crossings"
    TRIPS_FORGONE = "trips_forgone"
    TRAVELLERS_TURNED_AWAY = "travellers_turned_away"
    HUMANITARIAN_PASSAGES = "humanitarian_passages"
    # The fence and the gates (``open`` is per gate: ``open.<gate>``)
    FENCE_BREACHES = "fence_breaches"
    FENCE_KM = "fence_km"
    FENCE_KM_END = "fence_km_end"
    FENCE_SHARE = "fence_share"
    FENCE_SHARE_MEAN = "fence_share_mean"
    FENCE_INTEGRITY = "fence_integrity"
    FENCE_INTEGRITY_END = "fence_integrity_end"
    OPEN = "open"
    GATES_OPEN = "gates_open"
    GATES_CLOSED_AGAINST_NORMAL = "gates_closed_against_normal"
    CROSSING_CLOSED_DAYS = "crossing_closed_days"
    TRIGGER_CLOSURES = "trigger_closures"
    IRREGULAR_CROSSINGS = "irregular_crossings"
    # Policy, and the run
    PATROL_UNITS = "patrol_units"
    POLICY_COST_USD = "policy_cost_usd"
    DAYS = "days"


class Tally(StrEnum):
    """The names rules count under: every daily counter, and the breakdown-only ``irregular_crossings``.

    Rules add through these names (``metrics.add(Tally.ATTACKS, n)``), never through string
    literals; :data:`SCALARS` and :data:`BREAKDOWNS` are derived from them. Each member has the
    value of the :class:`MetricName` of the same name.
    """

    MILITANT_CROSSINGS = MetricName.MILITANT_CROSSINGS.value  # fighters entering Pakistan
    MILITANT_INTERDICTIONS = MetricName.MILITANT_INTERDICTIONS.value  # fighters stopped at the line
    MILITANTS_KILLED = MetricName.MILITANTS_KILLED.value
    MILITANT_RETURNS = MetricName.MILITANT_RETURNS.value
    ATTACKS = MetricName.ATTACKS.value  # every attack: by cells that crossed and by domestic groups
    DOMESTIC_ATTACKS = MetricName.DOMESTIC_ATTACKS.value  # by groups based in Pakistan
    CORRIDOR_MILITANT_CROSSINGS = MetricName.CORRIDOR_MILITANT_CROSSINGS.value
    CORRIDOR_MILITANTS_CAUGHT = MetricName.CORRIDOR_MILITANTS_CAUGHT.value
    FORMAL_TRADE_USD = MetricName.FORMAL_TRADE_USD.value
    INFORMAL_TRADE_USD = MetricName.INFORMAL_TRADE_USD.value
    SMUGGLING_SEIZURES_USD = MetricName.SMUGGLING_SEIZURES_USD.value
    TARIFF_REVENUE_USD = MetricName.TARIFF_REVENUE_USD.value
    FORMAL_CONSIGNMENTS = MetricName.FORMAL_CONSIGNMENTS.value
    TRADER_WAIT_DAYS_TOTAL = MetricName.TRADER_WAIT_DAYS_TOTAL.value
    TRADERS_QUEUED = MetricName.TRADERS_QUEUED.value
    TRADES_GIVEN_UP = MetricName.TRADES_GIVEN_UP.value
    TRADER_DIVERSIONS = MetricName.TRADER_DIVERSIONS.value
    TRADER_SWITCHES_TO_SMUGGLING = MetricName.TRADER_SWITCHES_TO_SMUGGLING.value
    REFUGEE_CROSSINGS_FORMAL = MetricName.REFUGEE_CROSSINGS_FORMAL.value  # people
    REFUGEE_CROSSINGS_IRREGULAR = MetricName.REFUGEE_CROSSINGS_IRREGULAR.value  # people
    # people crossing Pakistan -> Afghanistan at gates
    FORMAL_RETURNS = MetricName.FORMAL_RETURNS.value
    DEPORTED_PEOPLE = MetricName.DEPORTED_PEOPLE.value
    DEPORTEES_CROSSED = MetricName.DEPORTEES_CROSSED.value
    COMMUNITY_CROSSINGS = MetricName.COMMUNITY_CROSSINGS.value  # people
    COMMUNITY_TRIPS_BLOCKED = MetricName.COMMUNITY_TRIPS_BLOCKED.value
    COMMUNITY_TRIPS_IMPOSSIBLE = MetricName.COMMUNITY_TRIPS_IMPOSSIBLE.value
    CIVILIAN_INTERDICTIONS = MetricName.CIVILIAN_INTERDICTIONS.value  # people
    # Funnel effect (Cornelius 2001): refugees and returnees (not border communities) who try an
    # informal point, and the sum over them of that point's ruggedness, so that the mean terrain
    # they are pushed onto can be totalled over any period.
    IRREGULAR_ATTEMPTS = MetricName.IRREGULAR_ATTEMPTS.value  # people
    # people x m (Riley's TRI)
    IRREGULAR_ATTEMPT_RUGGEDNESS_M = MetricName.IRREGULAR_ATTEMPT_RUGGEDNESS_M.value
    STRANDED_PEOPLE = MetricName.STRANDED_PEOPLE.value  # people, both sides, at closed gates
    BORDER_DEATHS = MetricName.BORDER_DEATHS.value
    GATE_PEOPLE = MetricName.GATE_PEOPLE.value  # people crossing official gates, both ways
    GATE_TRUCKS = MetricName.GATE_TRUCKS.value  # trucks crossing official gates, both ways
    STRANDED_TRUCKS = MetricName.STRANDED_TRUCKS.value  # trucks waiting at closed gates
    TRADE_LOST_USD = MetricName.TRADE_LOST_USD.value  # formal trade not done because of closures
    PERISHABLE_LOSS_USD = MetricName.PERISHABLE_LOSS_USD.value  # spoiled while waiting
    IRREGULAR_CIVILIAN_CROSSINGS = MetricName.IRREGULAR_CIVILIAN_CROSSINGS.value  # people
    TRIPS_FORGONE = MetricName.TRIPS_FORGONE.value  # trips given up under a document regime
    TRAVELLERS_TURNED_AWAY = MetricName.TRAVELLERS_TURNED_AWAY.value  # refused at a gate
    HUMANITARIAN_PASSAGES = MetricName.HUMANITARIAN_PASSAGES.value  # people through a closed gate
    FENCE_BREACHES = MetricName.FENCE_BREACHES.value
    MILITANT_FENCE_BREACHES = MetricName.MILITANT_FENCE_BREACHES.value
    TRIGGER_CLOSURES = MetricName.TRIGGER_CLOSURES.value
    IRREGULAR_CROSSINGS = MetricName.IRREGULAR_CROSSINGS.value  # people; kept by sector only


class Dim(StrEnum):
    """What a breakdown is by."""

    GATE = "gate"
    SECTOR = "sector"
    PROVINCE = "province"
    TOWN = "town"


BREAKDOWNS: dict[str, tuple[str, ...]] = {
    Dim.GATE.value: (
        Tally.FORMAL_TRADE_USD.value,
        Tally.REFUGEE_CROSSINGS_FORMAL.value,
        Tally.STRANDED_PEOPLE.value,
        Tally.GATE_PEOPLE.value,
        Tally.GATE_TRUCKS.value,
        Tally.STRANDED_TRUCKS.value,
        Tally.TRADE_LOST_USD.value,
    ),
    Dim.SECTOR.value: (
        Tally.MILITANT_CROSSINGS.value,
        Tally.MILITANT_INTERDICTIONS.value,
        Tally.IRREGULAR_CROSSINGS.value,
        Tally.INFORMAL_TRADE_USD.value,
        Tally.BORDER_DEATHS.value,  # where people die crossing (recorded only: for the maps)
    ),
    Dim.PROVINCE.value: (Tally.ATTACKS.value,),
    Dim.TOWN.value: (Tally.ATTACKS.value,),
}
_BREAKDOWN_ONLY = (Tally.IRREGULAR_CROSSINGS,)
# The daily scalar counters, in column order (plain strings: they name columns and JSON keys).
SCALARS: tuple[str, ...] = tuple(t.value for t in Tally if t not in _BREAKDOWN_ONLY)


class DailyMetrics:
    """Today's counters, cleared at the start of every day."""

    def __init__(self, labels: dict[str, list[str]]):
        self.labels = labels
        self._columns: dict[tuple[str, str], tuple[str, ...]] = {}
        self.today: dict[str, float] = {}
        self.by: dict[tuple[str, str], np.ndarray] = {}
        self.start_day()
        self.row_cache = self.row()  # the day's row, frozen before the data collector reads it

    def start_day(self) -> None:
        """Clear the counters."""
        self.today = dict.fromkeys(SCALARS, 0.0)
        self.by = {
            (name, dim): np.zeros(len(self.labels[dim]))
            for dim, names in BREAKDOWNS.items()
            for name in names
        }

    def add(self, name: str, value: float) -> None:
        """Add to a scalar counter."""
        if name not in self.today:
            raise KeyError(f"unknown metric {name!r}")
        self.today[name] += value

    def add_by(self, name: str, dim: str, index: np.ndarray, values: np.ndarray) -> None:
        """Add values to a breakdown (``index`` into the labels of ``dim``)."""
        counts = self.by[(name, dim)]
        counts += np.bincount(np.asarray(index, dtype=np.int64), weights=values,
                              minlength=counts.size)  # fmt: skip

    def freeze(self) -> None:
        """Fix today's row for the data collector."""
        self.row_cache = self.row()

    def row(self) -> dict[str, float]:
        """Today's values as one flat row."""
        row = dict(self.today)
        for key, counts in self.by.items():
            # tolist() gives the same Python floats as float() of each element, in one call.
            row.update(zip(self._column_names(key), counts.tolist(), strict=True))
        return row

    def _column_names(self, key: tuple[str, str]) -> tuple[str, ...]:
        """The row's column names of one breakdown, ``name.label`` (made once per breakdown)."""
        names = self._columns.get(key)
        if names is None:
            name, dim = key
            names = self._columns[key] = tuple(f"{name}.{label}" for label in self.labels[dim])
        return names


def running_total(values: Iterable[float]) -> float:
    """Add up day by day, left to right, as the model always has (keeps totals to the last digit).

    Python 3.12's ``sum`` compensates rounding and ``pandas`` sums pairwise; either may differ
    from a day-by-day running total in the last digit.
    """
    return functools.reduce(operator.add, values, 0.0)


def summarise(series: pd.DataFrame) -> dict[str, float]:
    """The run summary (a flat mapping of metric name to number, in real units).

    Args:
        series: The run's daily series (:meth:`BorderModel.timeseries`); the summary is computed
            from it alone.
    """

    def total(name: str) -> float:
        return float(series[name].sum()) if len(series) else 0.0

    consignments = total("formal_consignments")
    summary = {
        "days": float(len(series)),
        "militant_crossings": total("militant_crossings"),
        "militant_interdictions": total("militant_interdictions"),
        "attacks": total("attacks"),
        "formal_trade_usd": total("formal_trade_usd"),
        "informal_trade_usd": total("informal_trade_usd"),
        "trader_wait_days_mean": total("trader_wait_days_total") / consignments
        if consignments
        else 0.0,
        "refugee_crossings_formal": total("refugee_crossings_formal"),
        "refugee_crossings_irregular": total("refugee_crossings_irregular"),
        "stranded_people_max": float(series["stranded_people"].max()) if len(series) else 0.0,
        "stranded_trucks_max": float(series["stranded_trucks"].max()) if len(series) else 0.0,
        "border_deaths": total("border_deaths"),
        "fence_breaches": total("fence_breaches"),
        "crossing_closed_days": total("gates_closed_against_normal"),
        "policy_cost_usd": running_total(series["policy_cost_usd"].tolist()),
    }
    for extra in (
        "militants_killed",
        "corridor_militant_crossings",
        "corridor_militants_caught",
        "smuggling_seizures_usd",
        "tariff_revenue_usd",
        "trades_given_up",
        "trader_diversions",
        "trader_switches_to_smuggling",
        "formal_returns",
        "deported_people",
        "community_crossings",
        "community_trips_blocked",
        "civilian_interdictions",
        "militant_fence_breaches",
        "trigger_closures",
        "gate_people",
        "gate_trucks",
        "trade_lost_usd",
        "perishable_loss_usd",
        "irregular_civilian_crossings",
        "trips_forgone",
        "travellers_turned_away",
        "humanitarian_passages",
    ):
        summary[extra] = total(extra)
    for column in series.columns:  # gate_people.<gate>, gate_trucks.<gate>: totals per gate
        if column.startswith(("gate_people.", "gate_trucks.")):
            summary[column] = total(column)
    attempts = total("irregular_attempts")
    # Mean ruggedness of the points refugees try; 0 when nobody tried (keeps the summary finite).
    summary["irregular_ruggedness_m_mean"] = (
        total("irregular_attempt_ruggedness_m") / attempts if attempts else 0.0
    )
    for province in ("attacks_kp", "attacks_balochistan", "domestic_attacks"):
        summary[province] = total(province) if province in series else 0.0
    if "registered_refugees" in series and len(series):
        summary["registered_refugees_mean"] = float(series["registered_refugees"].mean())
    if len(series):
        summary["fence_share_mean"] = float(series["fence_share"].mean())
        summary["fence_km_end"] = float(series["fence_km"].iloc[-1])
        summary["fence_integrity_end"] = float(series["fence_integrity"].iloc[-1])
    return summary


# The registry ---------------------------------------------------------------------------------------

OverDays = Literal["sum", "max", "mean", "last", "ratio"]


@dataclass(frozen=True)
class Metric:
    """What a metric means and how to read it.

    Attributes:
        name: The column or summary key (fixed: other tools read it).
        label: A short human label, without the unit.
        unit: The unit of one value ("US$", "people", "fighters", "gate-days", ...).
        description: One sentence on what is counted.
        over_days: How the daily series becomes the run's figure: "sum", "max", "mean", "last", or
            "ratio" (a quotient of two sums, see the summary).
        nonnegative: Whether no value can be below zero (counts, money, shares), so that intervals
            of it are kept at or above zero.
    """

    name: str
    label: str
    unit: str
    description: str
    over_days: OverDays = "sum"
    nonnegative: bool = True


def _metrics(*rows: tuple) -> dict[str, Metric]:
    return {row[0]: Metric(*row) for row in rows}


# Replicates are always summarised by their mean with a 95% interval (borderabm.analysis.compare).
METRICS: dict[str, Metric] = _metrics(
    # Militancy
    (
        "militant_crossings",
        "Militant crossings",
        "fighters",
        "Fighters entering Pakistan across the line.",
    ),
    (
        "militant_interdictions",
        "Militant interdictions",
        "fighters",
        "Fighters stopped at the line.",
    ),
    ("militants_killed", "Militants killed", "fighters", "Fighters killed at the line by patrols."),
    ("militant_returns", "Militant returns", "fighters", "Fighters going back to Afghanistan."),
    (
        "attacks",
        "Attacks",
        "attacks",
        "Attacks in Pakistan: by fighters who crossed, and by groups based in Pakistan.",
    ),
    (
        "attacks_kp",
        "Attacks in Khyber Pakhtunkhwa",
        "attacks",
        "Attacks in KP (with the former FATA).",
    ),
    ("attacks_balochistan", "Attacks in Balochistan", "attacks", "Attacks in Balochistan."),
    (
        "domestic_attacks",
        "Attacks by groups based in Pakistan",
        "attacks",
        "Attacks by groups that do not cross the line (Baloch insurgents, TTP cells in KP).",
    ),
    (
        "corridor_militant_crossings",
        "Militants through the corridor",
        "fighters",
        "Fighters who crossed hidden in corridor cargo.",
    ),
    (
        "corridor_militants_caught",
        "Militants caught in the corridor",
        "fighters",
        "Fighters found by corridor screening.",
    ),
    (
        "militant_fence_breaches",
        "Fence breaches by militants",
        "breaches",
        "Times a militant cell cut or climbed the fence.",
    ),
    # Trade
    ("formal_trade_usd", "Formal trade", "US$", "Value of goods traded through official gates."),
    (
        "informal_trade_usd",
        "Informal trade (smuggling)",
        "US$",
        "Value of goods smuggled across the line.",
    ),
    ("smuggling_seizures_usd", "Smuggled goods seized", "US$", "Value of smuggled goods seized."),
    ("tariff_revenue_usd", "Tariff revenue", "US$", "Duties collected at the gates."),
    (
        "formal_consignments",
        "Formal consignments",
        "consignments",
        "Consignments cleared at the gates.",
    ),
    (
        "trader_wait_days_total",
        "Trader waiting",
        "trader-days",
        "Days traders spent queueing at gates.",
    ),
    (
        "trader_wait_days_mean",
        "Mean wait at the gates",
        "days",
        "Mean queueing days per cleared consignment.",
        "ratio",
    ),
    (
        "traders_queued",
        "Traders queued",
        "traders",
        "Traders waiting at a gate at the end of the day.",
        "max",
    ),
    (
        "trades_given_up",
        "Trades given up",
        "consignments",
        "Consignments abandoned after waiting too long.",
    ),
    (
        "trader_diversions",
        "Diversions to another gate",
        "consignments",
        "Consignments sent to another gate because theirs was closed or jammed.",
    ),
    (
        "trader_switches_to_smuggling",
        "Switches to smuggling",
        "consignments",
        "Consignments that left the gates for informal routes.",
    ),
    # People
    (
        "refugee_crossings_formal",
        "Refugee crossings at gates",
        "people",
        "People crossing at official gates.",
    ),
    (
        "refugee_crossings_irregular",
        "Irregular refugee crossings",
        "people",
        "People crossing the line away from the gates.",
    ),
    (
        "formal_returns",
        "Returns at gates",
        "people",
        "People going back to Afghanistan through the gates.",
    ),
    ("deported_people", "People deported", "people", "People deported from Pakistan."),
    ("deportees_crossed", "Deportees who crossed", "people", "Deportees who reached Afghanistan."),
    (
        "community_crossings",
        "Border-community crossings",
        "people",
        "Local trips of border communities across the line.",
    ),
    (
        "community_trips_blocked",
        "Community trips blocked",
        "trips",
        "Local trips stopped by the fence or patrols.",
    ),
    (
        "community_trips_impossible",
        "Community trips impossible",
        "trips",
        "Local trips with no way across on that day.",
    ),
    (
        "civilian_interdictions",
        "Civilians stopped",
        "people",
        "Civilians stopped at the line by patrols.",
    ),
    (
        "irregular_attempts",
        "Irregular crossing attempts",
        "people",
        "Refugees and returnees trying an informal crossing point.",
    ),
    (
        "irregular_attempt_ruggedness_m",
        "Ruggedness faced (total)",
        "people × m",
        "Sum over attempts of the point's terrain ruggedness (Riley's TRI).",
    ),
    (
        "irregular_ruggedness_m_mean",
        "Ruggedness of the points tried",
        "m",
        "Mean terrain ruggedness (Riley's TRI) of the informal points people tried.",
        "ratio",
    ),
    (
        "stranded_people",
        "Stranded people",
        "people",
        "People stuck at a closed gate on the day.",
        "max",
    ),
    (
        "stranded_people_max",
        "Most people stranded",
        "people",
        "The highest number stranded at closed gates on any day.",
        "max",
    ),
    ("border_deaths", "Border deaths", "people", "People who died crossing, or shot at the line."),
    (
        "registered_refugees",
        "Registered refugees",
        "people",
        "Afghans in Pakistan holding proof of registration (PoR), that day.",
        "mean",
    ),
    (
        "registered_refugees_mean",
        "Registered refugees, mean",
        "people",
        "Afghans in Pakistan holding proof of registration (PoR), on average over the run.",
        "mean",
    ),
    (
        "gate_people",
        "People through the gates",
        "people",
        "People crossing official gates, both ways: travellers, refugees, returnees, deportees.",
    ),
    (
        "gate_trucks",
        "Trucks through the gates",
        "trucks",
        "Trucks crossing official gates, both ways: loaded, transit and empty.",
    ),
    (
        "stranded_trucks",
        "Stranded trucks",
        "trucks",
        "Trucks waiting at a closed gate on the day, both sides.",
        "max",
    ),
    (
        "stranded_trucks_max",
        "Most trucks stranded",
        "trucks",
        "The highest number of trucks waiting at closed gates on any day.",
        "max",
    ),
    (
        "trade_lost_usd",
        "Trade lost to closures",
        "US$",
        "Formal trade not done because gates were closed: loads abandoned, smuggled or spoiled.",
    ),
    (
        "perishable_loss_usd",
        "Perishables spoiled",
        "US$",
        "Value of perishable loads spoiled while waiting at closed gates.",
    ),
    (
        "irregular_civilian_crossings",
        "Irregular civilian crossings (all)",
        "people",
        "Civilians crossing away from the gates: refugees, border communities and travellers.",
    ),
    (
        "trips_forgone",
        "Trips given up (documents)",
        "trips",
        "Gate trips given up because the traveller lacks the documents the gate requires.",
    ),
    (
        "travellers_turned_away",
        "Travellers turned away",
        "people",
        "People refused at a gate for want of the documents it requires.",
    ),
    (
        "humanitarian_passages",
        "Humanitarian passages",
        "people",
        "Patients, families and returnees let through a closed gate.",
    ),
    # The fence and the gates
    ("fence_breaches", "Fence breaches", "breaches", "Times the fence was cut or climbed."),
    ("fence_km", "Fence built", "km", "Length of fence standing.", "last"),
    (
        "fence_km_end",
        "Fence built at the end",
        "km",
        "Length of fence standing on the last day.",
        "last",
    ),
    ("fence_share", "Fence coverage", "share of the line", "Share of the line fenced.", "mean"),
    (
        "fence_share_mean",
        "Mean fence coverage",
        "share of the line",
        "Share of the line fenced, on average.",
        "mean",
    ),
    (
        "fence_integrity",
        "Fence integrity",
        "share intact",
        "Share of the fence in good repair.",
        "last",
    ),
    (
        "fence_integrity_end",
        "Fence integrity at the end",
        "share intact",
        "Share of the fence in good repair on the last day.",
        "last",
    ),
    ("open", "Gate open", "1 = open", "Whether the gate was open on the day.", "mean"),
    ("gates_open", "Gates open", "gates", "Official gates open on the day.", "mean"),
    (
        "gates_closed_against_normal",
        "Gates closed",
        "gates",
        "Gates closed on the day that are open in normal times.",
        "sum",
    ),
    (
        "crossing_closed_days",
        "Gate closures",
        "gate-days",
        "Days gates that are open in normal times were closed, summed over gates.",
    ),
    ("trigger_closures", "Trigger closures", "closures", "Times a trigger rule closed gates."),
    (
        "irregular_crossings",
        "Irregular civilian crossings",
        "people",
        "Civilians crossing away from the gates.",
    ),
    # Policy
    ("patrol_units", "Patrol units", "units", "Patrol units deployed.", "mean"),
    (
        "policy_cost_usd",
        "Policy cost",
        "US$",
        "Cost of the fence, patrols, corridor and deportations over the run.",
    ),
    ("days", "Days simulated", "days", "Length of the run.", "last"),
)


def metric_info(name: str) -> Metric:
    """The registry entry of a metric, of a breakdown column (``formal_trade_usd.Torkham``) too.

    Raises:
        KeyError: For a name the registry does not know.
    """
    if name in METRICS:
        return METRICS[name]
    base, _, part = name.partition(".")
    if part and base in METRICS:
        entry = METRICS[base]
        return Metric(name, f"{entry.label} — {part}", entry.unit, entry.description,
                      entry.over_days, entry.nonnegative)  # fmt: skip
    raise KeyError(f"unknown metric {name!r}")


def is_metric(name: str) -> bool:
    """Whether ``name`` is a metric of the registry or a breakdown of one (see :func:`metric_info`)."""
    try:
        metric_info(name)
    except KeyError:
        return False
    return True


def metric_label(name: str) -> str:
    """The label with its unit, for tables and axes: "Formal trade (US$)"; the name if unknown."""
    try:
        entry = metric_info(name)
    except KeyError:
        return name
    if entry.label.lower() == entry.unit.lower():  # "Attacks", not "Attacks (attacks)"
        return entry.label
    return f"{entry.label} ({entry.unit})"


def format_value(name: str, value: float) -> str:
    """A value for a person to read: "US$267M" for money, whole numbers for counts.

    Money has three significant figures (US$1.97bn, US$267M); shares, lengths and mean waits
    two decimals (from 100 on one); counts, a count of days included, whole numbers when they
    are whole. A value that is not defined (NaN) is "–".
    """
    if not np.isfinite(value):
        return "–"
    try:
        entry: Metric | None = metric_info(name)
    except KeyError:
        entry = None
    unit = entry.unit if entry else ""
    if unit == "US$":
        return format_values(name, [value])[0]
    fractional = unit.startswith("share") or unit in ("m", "km")
    fractional |= unit == "days" and entry is not None and entry.over_days == "ratio"  # a mean
    if fractional or not float(value).is_integer():
        # From 100 on one decimal, not none: a mean of two whole counts, 142.5, is not "142".
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"
    return f"{value:,.0f}"


def format_values(name: str, values: Sequence[float], signed: bool = False) -> list[str]:
    """Values of one metric written with one precision: a mean and the ends of its interval.

    The largest value has three significant figures, in thousands (k) from 10,000 on, millions (M)
    or billions (bn), and the others take its scale and decimals, so that an interval never
    reads narrower than it is ("1.80bn [1.79bn – 1.82bn]", not "1.8bn [1.8bn – 1.8bn]") and a
    small share or difference keeps its digits (0.98, +0.0312). Whole values below 1,000 stay
    whole (38 [30 – 45]). Money is written in US$ ("US$1.97bn", "−US$10.0M"). The one format of
    a mean with its interval, in the terminal, the reports and the browser.

    Args:
        name: The metric (its unit decides the US$ sign).
        values: The values; one that is not defined (NaN) is "–".
        signed: Write "+" before a positive value (a difference).
    """
    try:
        money = metric_info(name).unit == "US$"
    except KeyError:
        money = False
    finite = [abs(float(v)) for v in values if np.isfinite(v)]
    largest = float(f"{max(finite, default=0.0):.3g}")  # rounded first: 999.96 is "1.00k"
    scale, suffix = 1.0, ""
    # Thousands from 10,000 on: 1,700 reads better than 1.70k, and a mean of 560 beside it as 560.
    for threshold, unit_size, name_of_unit in ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if largest >= threshold:
            scale, suffix = unit_size, name_of_unit
            break
    if largest == 0 or (not suffix and all(float(v).is_integer() for v in finite)):
        decimals = 0
    else:
        decimals = max(0, 2 - int(np.floor(np.log10(largest / scale))))
    out = []
    for value in values:
        if not np.isfinite(value):
            out.append("–")
            continue
        scaled = round(abs(float(value)) / scale, decimals)
        # Exactly nothing is "0" (US$0), not "0.00k": the end of an interval at zero, say.
        digits = f"{scaled:,.{decimals}f}{suffix}" if value else "0"
        sign = ""
        if scaled and value > 0 and signed:  # no sign on a value that reads 0
            sign = "+"
        elif scaled and value < 0:
            sign = "−" if money else "-"
        out.append(f"{sign}US${digits}" if money else f"{sign}{digits}")
    return out


def format_estimate(name: str, mean: float, low: float, high: float, signed: bool = False) -> str:
    """A mean with its 95% interval, ``mean [low – high]``, in one precision (:func:`format_values`)."""
    shown_mean, shown_low, shown_high = format_values(name, [mean, low, high], signed=signed)
    return f"{shown_mean} [{shown_low} – {shown_high}]"


# Breakdown columns and shared selections ------------------------------------------------------------


def breakdown_column(name: str, part: str) -> str:
    """The daily-series column of one part of a breakdown: ``attacks.Balochistan``, ``open.Torkham``.

    The inverse of what :func:`metric_info` splits; the one place such a column name is spelt.

    Args:
        name: The metric broken down (a :class:`MetricName`).
        part: The gate, sector, province or town (a label of the breakdown's dimension).
    """
    return f"{name}.{part}"


def _names(*names: MetricName) -> tuple[str, ...]:
    """Plain strings, like :data:`SCALARS`: selections name columns, JSON keys and CLI options."""
    return tuple(name.value for name in names)


# The headline metrics: the comparison table (CLI and browser) and the default sensitivity outputs.
HEADLINE_METRICS: tuple[str, ...] = _names(
    MetricName.MILITANT_CROSSINGS,
    MetricName.ATTACKS,
    MetricName.FORMAL_TRADE_USD,
    MetricName.INFORMAL_TRADE_USD,
    MetricName.REFUGEE_CROSSINGS_IRREGULAR,
    MetricName.STRANDED_PEOPLE_MAX,
    MetricName.STRANDED_TRUCKS_MAX,
    MetricName.TRADE_LOST_USD,
    MetricName.BORDER_DEATHS,
    MetricName.CROSSING_CLOSED_DAYS,
    MetricName.POLICY_COST_USD,
)

# The daily counters a trigger rule may watch (a scenario's ``[[triggers]] metric``). A Literal, so
# that the scenario schema refuses any other name with the list of these.
TriggerMetric = Literal["attacks", "militant_crossings", "fence_breaches", "border_deaths"]
TRIGGER_METRICS: tuple[TriggerMetric, ...] = get_args(TriggerMetric)

# The browser's run page: the daily charts (running totals, but for the daily levels), and the
# run totals beside them.
BROWSER_CHART_METRICS: tuple[str, ...] = _names(
    MetricName.MILITANT_CROSSINGS,
    MetricName.MILITANT_INTERDICTIONS,
    MetricName.ATTACKS,
    MetricName.FORMAL_TRADE_USD,
    MetricName.INFORMAL_TRADE_USD,
    MetricName.STRANDED_PEOPLE,
    MetricName.STRANDED_TRUCKS,
    MetricName.GATE_PEOPLE,
    MetricName.GATE_TRUCKS,
    MetricName.BORDER_DEATHS,
    MetricName.REFUGEE_CROSSINGS_IRREGULAR,
)
BROWSER_LEVEL_METRICS: tuple[str, ...] = _names(
    MetricName.STRANDED_PEOPLE,
    MetricName.STRANDED_TRUCKS,
    MetricName.GATE_PEOPLE,
    MetricName.GATE_TRUCKS,
)
BROWSER_TOTAL_METRICS: tuple[str, ...] = _names(
    MetricName.ATTACKS,
    MetricName.MILITANT_CROSSINGS,
    MetricName.MILITANT_INTERDICTIONS,
    MetricName.FORMAL_TRADE_USD,
    MetricName.INFORMAL_TRADE_USD,
    MetricName.BORDER_DEATHS,
    MetricName.REFUGEE_CROSSINGS_IRREGULAR,
    MetricName.GATE_PEOPLE,
    MetricName.GATE_TRUCKS,
    MetricName.STRANDED_PEOPLE_MAX,
    MetricName.STRANDED_TRUCKS_MAX,
    MetricName.TRADE_LOST_USD,
    MetricName.CROSSING_CLOSED_DAYS,
    MetricName.POLICY_COST_USD,
)
# The browser's comparison page: the run totals listed beside each run of the runs table.
BROWSER_RUNS_TABLE_METRICS: tuple[str, ...] = _names(
    MetricName.ATTACKS, MetricName.MILITANT_CROSSINGS, MetricName.FORMAL_TRADE_USD
)

# The comparison report's charts (borderabm.report.compare, shown by the CLI and the browser): the
# series over time (the cumulative ones as running totals), the breakdowns by sector, and the
# effects set against the policy cost.
REPORT_SERIES_METRICS: tuple[str, ...] = _names(
    MetricName.MILITANT_CROSSINGS,
    MetricName.ATTACKS,
    MetricName.FORMAL_TRADE_USD,
    MetricName.INFORMAL_TRADE_USD,
    MetricName.STRANDED_PEOPLE,
    MetricName.STRANDED_TRUCKS,
    MetricName.GATE_PEOPLE,
    MetricName.GATES_CLOSED_AGAINST_NORMAL,
)
REPORT_CUMULATIVE_METRICS: frozenset[str] = frozenset(
    _names(
        MetricName.MILITANT_CROSSINGS,
        MetricName.ATTACKS,
        MetricName.FORMAL_TRADE_USD,
        MetricName.INFORMAL_TRADE_USD,
    )
)
REPORT_SECTOR_METRICS: tuple[str, ...] = _names(
    MetricName.MILITANT_CROSSINGS, MetricName.IRREGULAR_CROSSINGS
)
REPORT_EFFECT_METRICS: tuple[str, ...] = _names(
    MetricName.ATTACKS, MetricName.FORMAL_TRADE_USD, MetricName.MILITANT_CROSSINGS
)
