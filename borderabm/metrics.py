"""Daily metrics in real units: counters the rules add to, and the run summary built from them.

The schema is fixed here, so that a misspelt metric fails loudly and every run has the same columns:
scalar series, and breakdowns by gate, sector and province (columns ``metric.<name>``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCALARS = (
    "militant_crossings",  # fighters entering Pakistan
    "militant_interdictions",  # fighters stopped at the line
    "militants_killed",
    "militant_returns",
    "attacks",
    "corridor_militant_crossings",
    "corridor_militants_caught",
    "formal_trade_usd",
    "informal_trade_usd",
    "smuggling_seizures_usd",
    "tariff_revenue_usd",
    "formal_consignments",
    "trader_wait_days_total",
    "traders_queued",
    "trades_given_up",
    "trader_diversions",
    "trader_switches_to_smuggling",
    "refugee_crossings_formal",  # people
    "refugee_crossings_irregular",  # people
    "formal_returns",  # people crossing Pakistan -> Afghanistan at gates
    "deported_people",
    "deportees_crossed",
    "community_crossings",  # people
    "community_trips_blocked",
    "community_trips_impossible",
    "civilian_interdictions",  # people
    # Funnel effect (Cornelius 2001): refugees and returnees (not border communities) who try an
    # informal point, and the sum over them of that point's ruggedness, so that the mean terrain
    # they are pushed onto can be totalled over any period.
    "irregular_attempts",  # people
    "irregular_attempt_ruggedness_m",  # people x m (Riley's TRI of the point's cell)
    "stranded_people",
    "border_deaths",
    "fence_breaches",
    "militant_fence_breaches",
    "trigger_closures",
)
BREAKDOWNS = {
    "gate": ("formal_trade_usd", "refugee_crossings_formal", "stranded_people"),
    "sector": (
        "militant_crossings",
        "militant_interdictions",
        "irregular_crossings",
        "informal_trade_usd",
    ),
    "province": ("attacks",),
    "town": ("attacks",),
}


class DailyMetrics:
    """Today's counters, cleared at the start of every day."""

    def __init__(self, labels: dict[str, list[str]]):
        self.labels = labels
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
        for (name, dim), counts in self.by.items():
            for label, value in zip(self.labels[dim], counts, strict=True):
                row[f"{name}.{label}"] = float(value)
        return row


def summarise(series: pd.DataFrame, closed_gate_days: int, cost_usd: float) -> dict[str, float]:
    """The run summary (a flat mapping of metric name to number, in real units)."""

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
        "border_deaths": total("border_deaths"),
        "fence_breaches": total("fence_breaches"),
        "crossing_closed_days": float(closed_gate_days),
        "policy_cost_usd": float(cost_usd),
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
    ):
        summary[extra] = total(extra)
    attempts = total("irregular_attempts")
    # Mean ruggedness of the points refugees try; 0 when nobody tried (keeps the summary finite).
    summary["irregular_ruggedness_m_mean"] = (
        total("irregular_attempt_ruggedness_m") / attempts if attempts else 0.0
    )
    kp = "attacks.Khyber Pakhtunkhwa+Federally Administered Tribal Areas"
    summary["attacks_kp"] = float(series[kp].sum()) if kp in series else 0.0
    summary["attacks_balochistan"] = (
        float(series["attacks.Balochistan"].sum()) if "attacks.Balochistan" in series else 0.0
    )
    if len(series):
        summary["fence_share_mean"] = float(series["fence_share"].mean())
        summary["fence_km_end"] = float(series["fence_km"].iloc[-1])
        summary["fence_integrity_end"] = float(series["fence_integrity"].iloc[-1])
    return summary
