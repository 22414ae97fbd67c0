"""Compare scenarios on common random numbers: replicate k of every scenario uses the same seed.

The runs come from the sweep machinery (``borderabm.experiments``); this module holds the statistics.

For each metric: the mean and 95% interval per scenario, and the paired difference against the first
scenario with its 95% interval (Student t on the per-seed differences); a difference is *clear* when
its interval excludes zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

HEADLINE_METRICS = (
    "militant_crossings",
    "attacks",
    "formal_trade_usd",
    "informal_trade_usd",
    "refugee_crossings_irregular",
    "stranded_people_max",
    "border_deaths",
    "crossing_closed_days",
    "policy_cost_usd",
)


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval."""

    mean: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


def interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and Student-t interval of independent values (zero width for fewer than two)."""
    data = np.asarray(values, dtype=float)
    centre = float(data.mean())
    if data.size < 2 or np.all(data == data[0]):
        return Interval(centre, centre, centre)
    half = stats.t.ppf(0.5 + confidence / 2, data.size - 1) * data.std(ddof=1) / np.sqrt(data.size)
    return Interval(centre, centre - half, centre + half)


def compare_table(results: pd.DataFrame, metrics: Sequence[str] = HEADLINE_METRICS) -> pd.DataFrame:
    """Per scenario and metric: mean, 95% interval, paired difference vs the first scenario."""
    names = list(dict.fromkeys(results["scenario"]))
    reference = results[results["scenario"] == names[0]].set_index("seed")
    rows = []
    for name in names:
        runs = results[results["scenario"] == name].set_index("seed")
        for metric in metrics:
            level = interval(runs[metric])
            row = {"scenario": name, "metric": metric, "mean": level.mean, "low": level.low,
                   "high": level.high}  # fmt: skip
            if name != names[0]:
                paired = (runs[metric] - reference[metric]).dropna()
                diff = interval(paired)
                row |= {"diff": diff.mean, "diff_low": diff.low, "diff_high": diff.high,
                        "clear": diff.clear}  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows)


def short_number(value: float, signed: bool = False) -> str:
    """A compact human number: 674.52M, 2.05bn, 1.30k, 12.5 (with a sign if asked)."""
    sign = "+" if signed and value > 0 else ""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{sign}{value / limit:,.2f}{suffix}"
    return f"{sign}{value:,.1f}"
