"""The hindcast: the history scenario run over posterior draws and replicates, year by year.

``borderabm hindcast`` runs the dated history of the border (``history_2014_2025``, or a window of it
cut by :func:`borderabm.scenario.history.cut`) once per posterior draw and replicate, on an
:class:`~borderabm.experiments.engines.Engine`. Each run's daily series is reduced in the worker to
one number per series and year (:func:`yearly_statistics`), so only a few hundred numbers travel
back, whatever the horizon. The runs are then pooled (:func:`summarise_runs`) and set against the
published figures of ``borderabm/data/history/published.toml`` (:func:`load_published`), with an
error score per series (:func:`mean_abs_log_ratio`) and the share of years whose model mean lies
inside the published spread.

How a year is measured, per series (:data:`SERIES`):

* ``sum``: the calendar year's total (attacks, returns, deportations);
* ``fiscal_sum``: the total of Pakistan's fiscal year July-June that *ends* in the year
  (FY2015 = 1 July 2014 - 30 June 2015): trade is published that way;
* ``year_end``: the value on 31 December (the fence's share of the line);
* ``mean``: the mean over the year's days (people and trucks a day; the registered refugees, a
  stock, whose published figures are dated at various points of the year);
* ``mean_open``: the mean over the days the gate was open (people and trucks a day "in normal
  times", as the published daily figures are).

A period the run does not cover completely has no statistic (NaN): a half year is not a year.
A series the model does not write is NaN too, and said so in the report.

This module computes; it never prints and never writes Markdown, HTML or PNG
(:mod:`borderabm.report.hindcast` does). Same draws and seeds give the same numbers, whatever the
engine: results are put back in draw and replicate order before anything is pooled.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from borderabm.experiments.engines import Engine
from borderabm.experiments.run import run_one
from borderabm.experiments.uncertainty import pick_rows, posterior_columns, typed_overrides
from borderabm.metrics import MetricName, breakdown_column
from borderabm.scenario import Scenario, validate_document, with_overrides
from borderabm.scenario.history import cut
from borderabm.scenario.paths import PACKAGE_DATA

HISTORY_SCENARIO = "history_2014_2025"
PUBLISHED_FILE = PACKAGE_DATA / "history" / "published.toml"
# The calibration spec whose fitted targets the hindcast's calibration rows name (field `target`).
CALIBRATION_SPEC = PACKAGE_DATA / "calibration" / "baseline.toml"
CALIBRATION_YEAR = 2024
FIRST_YEAR, LAST_YEAR = 2014, 2025
INTERVAL = (0.05, 0.95)  # the model's interval: 5th to 95th percentile over draws x replicates
# What a published figure is to the model (field `role`): "calibration" when it was fitted to or
# is a fitted target's own source or bound; "input" when the history scenario is built from it;
# "held_out" when nothing in the model saw it. Only held-out figures are scored.
ROLES = ("calibration", "input", "held_out")
# A published figure is uncertain beyond its spread (sources disagree by 30-50% on trade, and a
# single figure has no spread at all): a held-out year is a miss when the model's MEAN lies more
# than this factor outside the published spread (below low / factor or above high x factor).
MISS_TOLERANCE = 1.25
# The calibration target statistic that measures the same thing as a hindcast aggregate; a
# calibration row's model value is checked against the fitted tolerance only where they match
# (trade is fitted over calendar 2024, the hindcast measures fiscal years).
SAME_STATISTIC = {"sum": "per_year", "mean_open": "per_open_day", "mean": "mean"}
CONFIDENCES = ("H", "M", "L")

Aggregate = Literal["sum", "fiscal_sum", "year_end", "mean", "mean_open"]


class HindcastError(ValueError):
    """Bad input for a hindcast (a posterior, a published-figures file, a year range).

    Attributes:
        source: The file or option concerned (the ``FILE`` of the error line).
        key: The key or column concerned.
        problem: What is wrong, with the allowed values when there is a list.
    """

    def __init__(self, source: str, key: str, problem: str):
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{key}: {problem}")


@dataclass(frozen=True)
class SeriesSpec:
    """One hindcast series: which daily column, and how a year of it is measured."""

    key: str  # the id in published.toml and in the report
    label: str
    column: str  # the daily series' column (a MetricName or a breakdown column)
    aggregate: Aggregate
    unit: str
    count: bool = True  # a count or an amount: never below zero
    open_column: str | None = None  # for "mean_open": the gate's open flag
    # Days within the year, ((month, day), (month, day)) inclusive, when a figure is published for
    # a week or a month rather than a year (calendar aggregates only).
    window: tuple[tuple[int, int], tuple[int, int]] | None = None


M = MetricName
TORKHAM = "Torkham"  # the gate whose daily people and trucks are published
TORKHAM_OPEN = breakdown_column(M.OPEN, TORKHAM)
TORKHAM_PEOPLE = breakdown_column(M.GATE_PEOPLE, TORKHAM)
TORKHAM_TRUCKS = breakdown_column(M.GATE_TRUCKS, TORKHAM)
CHAMAN = "Chaman"
CHAMAN_OPEN = breakdown_column(M.OPEN, CHAMAN)
CHAMAN_PEOPLE = breakdown_column(M.GATE_PEOPLE, CHAMAN)
CHAMAN_TRUCKS = breakdown_column(M.GATE_TRUCKS, CHAMAN)

SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec(M.ATTACKS_KP.value, "Attacks in Khyber Pakhtunkhwa (incl. ex-FATA)", M.ATTACKS_KP,
               "sum", "attacks a year"),
    SeriesSpec(M.ATTACKS_BALOCHISTAN.value, "Attacks in Balochistan", M.ATTACKS_BALOCHISTAN, "sum",
               "attacks a year"),
    SeriesSpec(M.FORMAL_TRADE_USD.value, "Formal trade, Pakistani fiscal year (Jul-Jun) ending in "
               "June", M.FORMAL_TRADE_USD, "fiscal_sum", "US$ a fiscal year"),
    SeriesSpec(M.FENCE_SHARE.value, "Fence: share of the line at year end", M.FENCE_SHARE,
               "year_end", "share of the 2,611 km line"),
    SeriesSpec("torkham_people_per_open_day", "People a day at Torkham (open days)",
               TORKHAM_PEOPLE, "mean_open", "people a day", open_column=TORKHAM_OPEN),
    SeriesSpec("torkham_people_per_day", "People a day at Torkham (all days)", TORKHAM_PEOPLE,
               "mean", "people a day"),
    SeriesSpec("torkham_trucks_per_open_day", "Trucks a day at Torkham (open days)",
               TORKHAM_TRUCKS, "mean_open", "trucks a day", open_column=TORKHAM_OPEN),
    SeriesSpec("torkham_trucks_per_day", "Trucks a day at Torkham (all days)", TORKHAM_TRUCKS,
               "mean", "trucks a day"),
    SeriesSpec("torkham_trucks_may", "Trucks a day at Torkham in May (open days)", TORKHAM_TRUCKS,
               "mean_open", "trucks a day", open_column=TORKHAM_OPEN, window=((5, 1), (5, 31))),
    SeriesSpec("chaman_people_per_open_day", "People a day at Chaman (open days)", CHAMAN_PEOPLE,
               "mean_open", "people a day", open_column=CHAMAN_OPEN),
    SeriesSpec("chaman_trucks_per_open_day", "Trucks a day at Chaman (open days)", CHAMAN_TRUCKS,
               "mean_open", "trucks a day", open_column=CHAMAN_OPEN),
    SeriesSpec("gate_people_1_7_september", "People a day through all gates, 1–7 September",
               M.GATE_PEOPLE, "mean", "people a day", window=((9, 1), (9, 7))),
    SeriesSpec(M.FORMAL_RETURNS.value, "Returns of Afghans from Pakistan", M.FORMAL_RETURNS, "sum",
               "people a year"),
    SeriesSpec(M.DEPORTED_PEOPLE.value, "Afghans deported from Pakistan", M.DEPORTED_PEOPLE, "sum",
               "people a year"),
    SeriesSpec(M.REGISTERED_REFUGEES.value, "Registered refugees (PoR holders), year mean",
               M.REGISTERED_REFUGEES, "mean", "people"),
)  # fmt: skip
SERIES_BY_KEY = {spec.key: spec for spec in SERIES}


# Periods and per-year statistics --------------------------------------------------------------
def period(
    aggregate: Aggregate,
    year: int,
    window: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> tuple[dt.date, dt.date]:
    """The days (first and last, inclusive) a statistic of ``year`` is measured over.

    A fiscal year is Pakistan's, July to June, named by the year it ends in: FY2015 runs from
    1 July 2014 to 30 June 2015. ``year_end`` is the last day of the year alone. A ``window``
    (month, day) to (month, day) narrows a calendar year to the days a figure was published for.
    """
    if window is not None and aggregate != "fiscal_sum":
        (first_month, first_day), (last_month, last_day) = window
        return dt.date(year, first_month, first_day), dt.date(year, last_month, last_day)
    if aggregate == "fiscal_sum":
        return dt.date(year - 1, 7, 1), dt.date(year, 6, 30)
    if aggregate == "year_end":
        return dt.date(year, 12, 31), dt.date(year, 12, 31)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def yearly_statistics(
    series: pd.DataFrame, years: Iterable[int], specs: Sequence[SeriesSpec] = SERIES
) -> dict[str, dict[int, float]]:
    """One number per series and year from a run's daily series (NaN where it cannot be measured).

    Args:
        series: The run's daily series (``BorderModel.timeseries``): a ``date`` column, one row a
            day.
        years: The calendar years wanted.
        specs: The series.

    Returns:
        ``{series key: {year: value}}``; NaN for a period the run does not cover day by day, or a
        column the series does not have.
    """
    dates = pd.to_datetime(series["date"]).dt.date.to_numpy()
    out: dict[str, dict[int, float]] = {}
    for spec in specs:
        values = out.setdefault(spec.key, {})
        for year in years:
            values[year] = _statistic(series, dates, spec, year)
    return out


def _statistic(series: pd.DataFrame, dates: np.ndarray, spec: SeriesSpec, year: int) -> float:
    if spec.column not in series.columns:
        return math.nan
    first, last = period(spec.aggregate, year, spec.window)
    inside = (dates >= first) & (dates <= last)
    if int(inside.sum()) != (last - first).days + 1:  # the run does not cover the whole period
        return math.nan
    column = series[spec.column].to_numpy(dtype=float)[inside]
    if spec.aggregate in ("sum", "fiscal_sum"):
        return float(column.sum())
    if spec.aggregate == "year_end":
        return float(column[-1])
    if spec.aggregate == "mean_open":
        if spec.open_column is None or spec.open_column not in series.columns:
            return math.nan
        open_days = series[spec.open_column].to_numpy(dtype=float)[inside] > 0
        return float(column[open_days].mean()) if open_days.any() else math.nan
    return float(column.mean())


# Scores ---------------------------------------------------------------------------------------
def mean_abs_log_ratio(model: Sequence[float], published: Sequence[float]) -> float:
    """Mean over years of ``|ln(model / published)|``: 0 is a perfect fit, ln 2 a factor of two.

    Years where either number is missing, zero or negative are left out (a ratio with zero has
    no logarithm); NaN if no year is left.
    """
    pairs = [(m, p) for m, p in zip(model, published, strict=True)
             if _usable(m) and _usable(p) and m > 0 and p > 0]  # fmt: skip
    if not pairs:
        return math.nan
    return float(np.mean([abs(math.log(m / p)) for m, p in pairs]))


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def share_inside(model: Sequence[float], low: Sequence[float], high: Sequence[float]) -> float:
    """Share of years whose model value lies inside the published spread ``[low, high]``.

    Years without a model value are left out; NaN if none is left.
    """
    flags = [lo <= m <= hi for m, lo, hi in zip(model, low, high, strict=True) if _usable(m)]
    return float(np.mean(flags)) if flags else math.nan


# Published figures ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerance:
    """A fitted calibration target's value and tolerance, as the calibration spec gives them."""

    name: str  # the target's name in the spec
    value: float
    low: float
    high: float
    statistic: str  # per_year, per_open_day, mean ...
    unit: str
    label: str


def _read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's document, or a HindcastError naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise HindcastError(str(path), "file", f"cannot read: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise HindcastError(str(path), "file", f"not valid TOML: {error}") from None


def load_tolerances(path: Path = CALIBRATION_SPEC) -> dict[str, Tolerance]:
    """The fitted targets of a calibration spec (``role = "fit"``, the default), by name.

    Raises:
        HindcastError: For a spec that cannot be read or parsed, or a target without numbers.
    """
    source = str(path)
    document = _read_toml(Path(path))
    out = {}
    for name, target in (document.get("targets") or {}).items():
        if not isinstance(target, dict) or target.get("role", "fit") != "fit":
            continue
        try:
            out[name] = Tolerance(name, float(target["value"]), float(target["low"]),
                                  float(target["high"]), str(target.get("statistic", "")),
                                  str(target.get("unit", "")), str(target.get("label", name)))  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise HindcastError(
                source, f"targets.{name}", "value, low and high must be numbers"
            ) from None
    return out


@dataclass(frozen=True)
class Published:
    """A published figure for one series and year."""

    series: str
    year: int
    value: float
    low: float
    high: float
    definition: str
    source: str
    confidence: str
    role: str  # one of ROLES
    cause: str = ""  # why the model misses it (written by people, not by the code)
    note: str = ""
    why: str = ""  # why the figure has its role (required for "calibration" and "input")
    fitted: Tolerance | None = None  # the calibration target a calibration row was fitted to
    file: str = ""  # the published-figures file it was read from (for error lines)


def load_published(
    path: Path = PUBLISHED_FILE, spec: Path = CALIBRATION_SPEC
) -> dict[str, list[Published]]:
    """The published figures per series (years in order), checked.

    Args:
        path: The published-figures TOML.
        spec: The calibration spec whose fitted targets calibration rows name (field ``target``).

    Raises:
        HindcastError: For a file that cannot be read or parsed, an unknown series, or a figure
            with a missing or bad field (a calibration or input row without ``why``, a ``target``
            that is not a fitted target of the spec).
    """
    source = str(path)
    tolerances = load_tolerances(spec)
    document = _read_toml(Path(path))
    series = document.get("series")
    if not isinstance(series, dict):
        raise HindcastError(source, "series", "missing (allowed: a table per series)")
    out: dict[str, list[Published]] = {}
    for key, table in series.items():
        if key not in SERIES_BY_KEY:
            raise HindcastError(source, f"series.{key}",
                                f"unknown series (allowed: {', '.join(SERIES_BY_KEY)})")  # fmt: skip
        figures = table.get("years", []) if isinstance(table, dict) else None
        if not isinstance(figures, list):
            raise HindcastError(source, f"series.{key}.years", "not a list of tables")
        out[key] = sorted((_figure(source, key, n, f, tolerances) for n, f in enumerate(figures)),
                          key=lambda figure: figure.year)  # fmt: skip
    return out


def _figure(
    source: str, key: str, index: int, raw: Any, tolerances: Mapping[str, Tolerance]
) -> Published:
    where = f"series.{key}.years[{index}]"
    if not isinstance(raw, dict):
        raise HindcastError(source, where, "not a table")

    def number(name: str, default: float | None = None) -> float:
        value = raw.get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise HindcastError(source, f"{where}.{name}", "not a number")
        if value < 0:
            raise HindcastError(source, f"{where}.{name}", "negative (allowed: >= 0)")
        return float(value)

    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise HindcastError(source, f"{where}.year",
                            f"not a year (allowed: {FIRST_YEAR} to {LAST_YEAR})")  # fmt: skip
    value = number("value")
    low, high = number("low", value), number("high", value)
    if not low <= value <= high:
        raise HindcastError(
            source, where, f"low <= value <= high does not hold ({low}, {value}, {high})"
        )
    role, confidence = raw.get("role"), raw.get("confidence")
    if role not in ROLES:
        raise HindcastError(source, f"{where}.role", f"{role!r} (allowed: {', '.join(ROLES)})")
    if confidence not in CONFIDENCES:
        raise HindcastError(source, f"{where}.confidence",
                            f"{confidence!r} (allowed: {', '.join(CONFIDENCES)})")  # fmt: skip
    texts = {}
    for name in ("definition", "source", "cause", "note", "why", "target"):
        text = raw.get(name, "")
        if not isinstance(text, str):
            raise HindcastError(source, f"{where}.{name}", "not a string")
        texts[name] = text
    if not texts["source"]:
        raise HindcastError(source, f"{where}.source", "missing (every figure names its source)")
    if role != "held_out" and not texts["why"]:
        raise HindcastError(source, f"{where}.why", f"missing (a {role} figure says why it is one)")
    fitted = None
    if texts["target"]:
        if role != "calibration":
            raise HindcastError(
                source, f"{where}.target", "only a calibration figure names a target"
            )
        fitted = tolerances.get(texts["target"])
        if fitted is None:
            raise HindcastError(source, f"{where}.target", f"{texts['target']!r} is not a fitted "
                                f"target (allowed: {', '.join(tolerances)})")  # fmt: skip
    return Published(key, year, value, low, high, texts["definition"], texts["source"], confidence,
                     role, texts["cause"], texts["note"], texts["why"], fitted, source)  # fmt: skip


@dataclass(frozen=True)
class NotCompared:
    """A published figure the hindcast does not set against the model, and why."""

    figure: str
    source: str
    why: str


def load_not_compared(path: Path = PUBLISHED_FILE) -> list[NotCompared]:
    """The ``[[not_compared]]`` entries of a published-figures file.

    Raises:
        HindcastError: For a file that cannot be read or an entry without its three texts.
    """
    source = str(path)
    document = _read_toml(Path(path))
    out = []
    for index, raw in enumerate(document.get("not_compared", [])):
        texts = [raw.get(k) if isinstance(raw, dict) else None for k in ("figure", "source", "why")]
        if not all(isinstance(t, str) and t for t in texts):
            raise HindcastError(source, f"not_compared[{index}]",
                                "figure, source and why must be non-empty strings")  # fmt: skip
        out.append(NotCompared(*(str(t) for t in texts)))
    return out


# Posterior draws ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Draw:
    """One posterior draw: its row in the posterior file and its parameter values."""

    index: int  # 0-based, in the order drawn
    row: int  # 0-based row of the posterior CSV
    values: dict[str, float | int]


def read_posterior(path: Path) -> pd.DataFrame:
    """The parameter columns of a calibration posterior CSV (dotted scenario keys).

    Raises:
        HindcastError: For a file that cannot be read, has no parameter column or no row, or holds
            a value that is not a finite number.
    """
    source = str(path)
    try:
        frame = pd.read_csv(path)
    except OSError as error:
        raise HindcastError(source, "file", f"cannot read: {error.strerror or error}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise HindcastError(source, "file", f"not a CSV file ({error})".strip()) from None
    columns = posterior_columns(frame)
    if not columns:
        raise HindcastError(source, "columns",
                            "no parameter column (allowed: dotted scenario keys, e.g. "
                            "population.militants)")  # fmt: skip
    if frame.empty:
        raise HindcastError(source, "rows", "no draw (allowed: at least one row)")
    parameters = frame[columns]
    for column in columns:
        values = pd.to_numeric(parameters[column], errors="coerce")
        if not np.isfinite(values.to_numpy(dtype=float)).all():
            raise HindcastError(source, str(column), "a value that is not a finite number")
    return parameters.astype(float)


def pick_draws(posterior: pd.DataFrame, count: int, seed: int) -> list[Draw]:
    """``count`` rows of the posterior, picked with a seeded generator.

    Rows are picked without replacement while the posterior has rows enough.
    """
    rows = pick_rows(len(posterior), count, seed)
    return [Draw(i, int(row), {str(k): float(v) for k, v in posterior.iloc[int(row)].items()})
            for i, row in enumerate(rows)]  # fmt: skip


def apply_draw(scenario: Scenario, draw: Draw, source: str) -> Scenario:
    """The scenario with a draw's values set; integer fields get the rounded value.

    Raises:
        HindcastError: For a column that is not a key of the scenario.
        ScenarioError: If a value is outside what the scenario allows.
    """
    overrides, unknown = typed_overrides(scenario, draw.values)
    if unknown:
        raise HindcastError(source, unknown[0], "not a key of the scenario (allowed: dotted keys "
                            "of scenario fields, e.g. population.militants)")  # fmt: skip
    return with_overrides(scenario, overrides, f"{source} (draw row {draw.row + 2})")


# Runs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HindcastRun:
    """One run of the hindcast: a draw, a replicate, its seed and its document."""

    draw: int
    row: int  # the draw's row in the posterior
    replicate: int
    seed: int
    document: dict[str, Any]


@dataclass(frozen=True)
class RunYears:
    """What a run sends back: its per-year statistics and its wall time."""

    draw: int
    replicate: int
    values: dict[str, dict[int, float]]
    seconds: float


def plan_runs(
    scenario: Scenario, draws: Sequence[Draw], replicates: int, seed: int, source: str
) -> list[HindcastRun]:
    """Every run: each draw on seeds ``seed .. seed + replicates - 1`` (common across draws)."""
    runs = []
    for draw in draws:
        drawn = apply_draw(scenario, draw, source)
        for replicate in range(replicates):
            settings = with_overrides(drawn, {"seed": seed + replicate}, source)
            runs.append(HindcastRun(draw.index, draw.row, replicate, seed + replicate,
                                    settings.model_dump(mode="json")))  # fmt: skip
    return runs


def run_years(run: HindcastRun, years: tuple[int, ...]) -> RunYears:
    """Run one hindcast run and reduce its daily series to per-year statistics (in the worker)."""
    start = time.perf_counter()
    settings = validate_document(run.document, f"hindcast run {run.draw}/{run.replicate}")
    result = run_one(settings)
    values = yearly_statistics(result.timeseries, years)
    return RunYears(run.draw, run.replicate, values, time.perf_counter() - start)


@dataclass(frozen=True)
class YearEstimate:
    """The model's estimate for one series and year, pooled over draws x replicates."""

    mean: float
    low: float  # INTERVAL[0] percentile
    high: float  # INTERVAL[1] percentile
    runs: int  # runs with a value


@dataclass
class SeriesResult:
    """One series of the hindcast: the model per year, the published figures and the scores."""

    spec: SeriesSpec
    model: dict[int, YearEstimate]
    published: list[Published]
    score_held_out: float  # mean |ln(model / published)| over held-out years
    score_calibration: float  # the same over the calibration rows (never mixed in the held-out)
    inside_share: float  # held-out years with the model mean inside [low, high]
    years_scored: int  # held-out years with a figure and a model value (zeros included)
    misses: list[int] = field(default_factory=list)  # held-out years that are misses (is_miss)

    def figures(self, role: str) -> list[Published]:
        """The published figures of one role, in year order."""
        return [p for p in self.published if p.role == role]

    def missing_column(self) -> bool:
        """Whether the model wrote no value for any year (its daily series lacks the column)."""
        return all(not math.isfinite(e.mean) for e in self.model.values())


@dataclass
class Hindcast:
    """A finished hindcast: per-series results and what was run."""

    scenario: str
    years: tuple[int, ...]
    draws: list[Draw]
    replicates: int
    seed: int
    posterior: str
    runs: list[RunYears]  # in draw, replicate order
    series: list[SeriesResult] = field(default_factory=list)
    seconds: float = 0.0
    not_stored: tuple[str, ...] = ()  # series a rebuild's stored runs do not hold (rerun needed)


def run_hindcast(
    scenario: Scenario,
    draws: Sequence[Draw],
    *,
    replicates: int,
    seed: int,
    years: Sequence[int],
    engine: Engine,
    published: Mapping[str, list[Published]],
    posterior: str,
    on_done: Callable[[RunYears], None] = lambda run: None,
) -> Hindcast:
    """Run every draw x replicate of a scenario and compare the years with the published figures.

    Args:
        scenario: The (cut) history scenario.
        draws: The posterior draws (:func:`pick_draws`).
        replicates: Replicates per draw (seeds ``seed`` onwards, the same for every draw).
        seed: The first replicate's seed.
        years: The calendar years reported.
        engine: Where the runs execute.
        published: The published figures (:func:`load_published`).
        posterior: The posterior file's name, for the report.
        on_done: Called after each run, in the order they finish.
    """
    start = time.perf_counter()
    years = tuple(years)
    runs = plan_runs(scenario, draws, replicates, seed, posterior)
    finished = []
    for result in engine.map_unordered(partial(run_years, years=years), runs):
        finished.append(result)
        on_done(result)
    finished.sort(key=lambda r: (r.draw, r.replicate))  # the engine's order is not the run's
    hindcast = Hindcast(scenario.name, years, list(draws), replicates, seed, posterior, finished)
    hindcast.series = [compare_series(spec, finished, years, published.get(spec.key, []))
                       for spec in SERIES]  # fmt: skip
    hindcast.seconds = time.perf_counter() - start
    return hindcast


def pool(values: Sequence[float], count: bool) -> YearEstimate:
    """The mean and the 5-95% interval of runs' values (counts never below zero)."""
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return YearEstimate(math.nan, math.nan, math.nan, 0)
    low, high = np.quantile(finite, INTERVAL)
    mean = float(finite.mean())
    if count:  # a count or an amount cannot be negative, whatever rounding did
        mean, low, high = max(mean, 0.0), max(float(low), 0.0), max(float(high), 0.0)
    return YearEstimate(mean, float(low), float(high), int(finite.size))


def compare_series(
    spec: SeriesSpec, runs: Sequence[RunYears], years: Sequence[int], published: list[Published]
) -> SeriesResult:
    """Pool a series over runs per year and score it against the published figures in ``years``."""
    model = {year: pool([r.values[spec.key][year] for r in runs], spec.count) for year in years}
    shown = [p for p in published if p.year in model]
    held = [p for p in shown if p.role == "held_out"]
    calibration = [p for p in shown if p.role == "calibration"]

    def score(figures: list[Published]) -> float:
        return mean_abs_log_ratio([model[p.year].mean for p in figures], [p.value for p in figures])

    scored = [p for p in held if math.isfinite(model[p.year].mean)]
    misses = [p.year for p in held if is_miss(model[p.year], p)]
    return SeriesResult(
        spec=spec,
        model=model,
        published=shown,
        score_held_out=score(held),
        score_calibration=score(calibration),
        inside_share=share_inside(
            [model[p.year].mean for p in held], [p.low for p in held], [p.high for p in held]
        ),  # fmt: skip
        years_scored=len(scored),
        misses=misses,
    )


def is_miss(estimate: YearEstimate, figure: Published) -> bool:
    """Whether a held-out year is a miss: the model's MEAN lies outside the widened spread.

    The published spread ``[low, high]`` is widened by :data:`MISS_TOLERANCE`, a factor either way.
    Calibration and input rows are never misses (they are not out of sample; a calibration row of
    the calibration year is checked against its fitted tolerance instead: :func:`outside_tolerance`).
    """
    if figure.role != "held_out" or not math.isfinite(estimate.mean):
        return False
    return (estimate.mean < figure.low / MISS_TOLERANCE
            or estimate.mean > figure.high * MISS_TOLERANCE)  # fmt: skip


def tolerance_checked(spec: SeriesSpec, figure: Published) -> bool:
    """Whether a calibration row's model value can be checked against its fitted tolerance.

    Only in the calibration year, and only where the hindcast measures the target's statistic.
    """
    return (figure.fitted is not None and figure.year == CALIBRATION_YEAR
            and SAME_STATISTIC.get(spec.aggregate) == figure.fitted.statistic
            and spec.window is None)  # fmt: skip


def outside_tolerance(spec: SeriesSpec, estimate: YearEstimate, figure: Published) -> bool:
    """Whether a checkable calibration row's model mean lies outside the tolerance it was fitted to."""
    if not tolerance_checked(spec, figure) or not math.isfinite(estimate.mean):
        return False
    assert figure.fitted is not None  # tolerance_checked says so
    return not figure.fitted.low <= estimate.mean <= figure.fitted.high


def uncaused(results: Sequence[SeriesResult]) -> list[Published]:
    """The held-out misses that have no written cause.

    A calibration-year row outside its fitted tolerance is flagged in the report with its cause
    when one is written, but does not stop it: which rows fall outside depends on the draws.
    """
    return [figure for result in results for figure in result.published
            if is_miss(result.model[figure.year], figure) and not figure.cause.strip()]  # fmt: skip


def check_causes(results: Sequence[SeriesResult]) -> None:
    """Refuse a hindcast whose misses are not all explained.

    Raises:
        HindcastError: Naming the first figure without a cause (and how many there are).
    """
    missing = uncaused(results)
    if missing:
        first = missing[0]
        years = ", ".join(f"{p.series} {p.year}" for p in missing)
        raise HindcastError(first.file or str(PUBLISHED_FILE),
                            f"series.{first.series} year {first.year}: cause",
                            f"missing: {len(missing)} miss(es) without a written cause ({years}); "
                            "write why the model misses each; the runs are kept in runs.csv, and "
                            "scripts/hindcast_report.py --runs builds the report from them")  # fmt: skip


def draws_meeting_tolerances(hindcast: Hindcast) -> tuple[int, dict[str, int]]:
    """How many draws' calibration year (mean over their replicates) meets every fitted tolerance.

    Only the targets the hindcast measures with the target's statistic are checked
    (:func:`tolerance_checked`).

    Returns:
        The draws meeting every checked tolerance, and per checked target the draws meeting it.
    """
    checks = [(result.spec.key, figure) for result in hindcast.series for figure in result.published
              if tolerance_checked(result.spec, figure) and figure.fitted is not None]  # fmt: skip
    per_target = {figure.fitted.name: 0 for _, figure in checks if figure.fitted is not None}
    meeting = 0
    for draw in hindcast.draws:
        runs = [r for r in hindcast.runs if r.draw == draw.index]
        ok = True
        for key, figure in checks:
            assert figure.fitted is not None  # checks hold fitted figures only
            values = [r.values.get(key, {}).get(figure.year, math.nan) for r in runs]
            finite = [v for v in values if math.isfinite(v)]
            inside = bool(finite) and (
                figure.fitted.low <= float(np.mean(finite)) <= figure.fitted.high
            )
            per_target[figure.fitted.name] += inside
            ok = ok and inside
        meeting += ok
    return meeting, per_target


def from_runs_frame(
    runs: pd.DataFrame,
    posterior: pd.DataFrame,
    *,
    scenario: str,
    posterior_name: str,
    published: Mapping[str, list[Published]],
) -> Hindcast:
    """A hindcast rebuilt from a report's stored ``runs.csv`` (no model run).

    Args:
        runs: The ``runs.csv`` of a hindcast report (draw, posterior_row, replicate, seed, series,
            year, value).
        posterior: The posterior the draws were picked from (:func:`read_posterior`).
        scenario: The scenario's name.
        posterior_name: The posterior file's name, for the report.
        published: The published figures (:func:`load_published`).

    Raises:
        HindcastError: For a runs table without its columns or with more than one first seed.
    """
    needed = ("draw", "posterior_row", "replicate", "seed", "series", "year", "value")
    missing = [c for c in needed if c not in runs.columns]
    if missing:
        raise HindcastError("runs.csv", missing[0], "missing column (allowed: the runs.csv that "
                            "borderabm hindcast writes)")  # fmt: skip
    firsts = runs.loc[runs["replicate"] == 0, "seed"].unique()
    if len(firsts) != 1:
        raise HindcastError("runs.csv", "seed", "replicate 0 runs on more than one seed")
    years = tuple(sorted(int(y) for y in runs["year"].unique()))
    draw_rows = runs.drop_duplicates("draw").sort_values("draw")
    draws = [Draw(int(d.draw), int(d.posterior_row),
                  {str(k): float(v) for k, v in posterior.iloc[int(d.posterior_row)].items()})
             for d in draw_rows.itertuples()]  # fmt: skip
    finished = []
    for (draw, replicate), frame in runs.groupby(["draw", "replicate"], sort=True):
        values: dict[str, dict[int, float]] = {spec.key: dict.fromkeys(years, math.nan)
                                                for spec in SERIES}  # fmt: skip
        for row in frame.itertuples():
            if str(row.series) in values:
                values[str(row.series)][int(row.year)] = float(row.value)
        finished.append(RunYears(int(draw), int(replicate), values, math.nan))
    replicates = int(runs["replicate"].max()) + 1
    stored = set(runs["series"].astype(str))
    hindcast = Hindcast(scenario, years, draws, replicates, int(firsts[0]), posterior_name,
                        finished, not_stored=tuple(s.key for s in SERIES if s.key not in stored))  # fmt: skip
    hindcast.series = [compare_series(spec, finished, years, published.get(spec.key, []))
                       for spec in SERIES]  # fmt: skip
    return hindcast


# Windows ---------------------------------------------------------------------------------------
def scenario_years(scenario: Scenario) -> tuple[int, ...]:
    """The calendar years a scenario's days touch, first to last."""
    return tuple(range(scenario.start_date.year, scenario.end_date.year + 1))


def window(scenario: Scenario, start_year: int | None, end_year: int | None) -> Scenario:
    """The scenario cut to whole calendar years ``start_year`` to ``end_year`` (its own if None).

    Uses :func:`borderabm.scenario.history.cut`, which carries the events before the window into
    its initial state.

    Raises:
        HindcastError: For years outside the scenario or in the wrong order.
    """
    years = scenario_years(scenario)
    first = years[0] if start_year is None else start_year
    last = years[-1] if end_year is None else end_year
    allowed = f"allowed: {years[0]} to {years[-1]}, start <= end"
    for option, year in (("--start-year", first), ("--end-year", last)):
        if not years[0] <= year <= years[-1]:
            raise HindcastError(option, str(year), f"outside the scenario's years ({allowed})")
    if first > last:
        raise HindcastError("--start-year", str(first), f"after --end-year {last} ({allowed})")
    start = max(dt.date(first, 1, 1), scenario.start_date)
    end = min(dt.date(last, 12, 31), scenario.end_date)
    if (start, end) == (scenario.start_date, scenario.end_date):
        return scenario
    return _cut(scenario, start, end)


def _cut(scenario: Scenario, start: dt.date, end: dt.date) -> Scenario:
    return cut(scenario, start, end, scenario.name)


# The hindcast's numbers read back (the validation report's out-of-sample section) ----------------
NUMBERS_COLUMNS = ("series", "year", "model_mean", "model_low", "model_high", "published",
                   "published_low", "published_high", "role", "miss", "cause", "label", "unit",
                   "outside_tolerance")  # fmt: skip


def read_numbers(path: Path) -> pd.DataFrame:
    """A hindcast's ``hindcast.csv`` (one row per series and year), checked.

    Raises:
        HindcastError: For a file that cannot be read or lacks a column.
    """
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as error:
        raise HindcastError(str(path), "(file)", f"cannot read a hindcast table: {error}") from None
    missing = [c for c in NUMBERS_COLUMNS if c not in frame.columns]
    if missing:
        raise HindcastError(str(path), missing[0], "missing column (allowed: the hindcast.csv "
                            "that borderabm hindcast writes)")  # fmt: skip
    return frame


def held_out_summary(numbers: pd.DataFrame) -> pd.DataFrame:
    """Per series: how the held-out years compare, and the calibration year beside them.

    Only ``role == "held_out"`` rows are scored; calibration and input rows are counted apart.

    Args:
        numbers: A hindcast's numbers (:func:`read_numbers`).

    Returns:
        One row per series with a published figure (in the table's order): ``series``, ``label``,
        ``unit``, ``years`` (held-out years compared), ``score`` (:func:`mean_abs_log_ratio` over
        them), ``inside`` (:func:`share_inside`), ``miss_count`` and ``misses`` (the held-out years
        that are misses, comma-separated), ``causes`` (their causes, distinct, in year order),
        ``calibration_rows`` and ``input_rows`` (years), ``calibration_ratio`` (model ÷ published in
        the calibration year; NaN where there is none) and ``outside_tolerance`` (calibration
        years whose model mean lies outside the fitted tolerance).
    """
    rows = []
    for series, frame in numbers.groupby("series", sort=False):
        if not frame["published"].notna().any():
            continue
        # The held-out years the model covers and a figure exists for (as the hindcast scores).
        held = frame[(frame["role"] == "held_out") & frame["published"].notna()
                     & frame["model_mean"].notna()]  # fmt: skip
        fitted = frame[(frame["role"] == "calibration") & (frame["year"] == CALIBRATION_YEAR)]
        misses = held[held["miss"].astype(bool)]
        causes = [c for c in dict.fromkeys(misses["cause"].fillna("")) if c]
        ratio = (float(fitted["model_mean"].iloc[0] / fitted["published"].iloc[0])
                 if len(fitted) and fitted["published"].iloc[0] else math.nan)  # fmt: skip

        def years(role: str, data: pd.DataFrame = frame) -> str:
            return ", ".join(str(y) for y in data.loc[data["role"] == role, "year"])

        outside = frame[frame["outside_tolerance"].astype(bool)]
        rows.append({
            "series": series, "label": str(frame["label"].iloc[0]),
            "unit": str(frame["unit"].iloc[0]), "years": len(held),
            "score": mean_abs_log_ratio(held["model_mean"].tolist(), held["published"].tolist()),
            "inside": share_inside(held["model_mean"].tolist(), held["published_low"].tolist(),
                                   held["published_high"].tolist()),
            "miss_count": len(misses),
            "misses": ", ".join(str(y) for y in misses["year"]),
            "causes": " ".join(causes),
            "calibration_rows": years("calibration"), "input_rows": years("input"),
            "calibration_ratio": ratio,
            "outside_tolerance": ", ".join(str(y) for y in outside["year"]),
        })  # fmt: skip
    return pd.DataFrame(rows)
