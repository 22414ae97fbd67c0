"""Compare scenarios on common random numbers: replicate k of every scenario uses the same seed.

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

from borderabm.geography import build_world
from borderabm.geography.routes import build_routes
from borderabm.model import BorderModel
from borderabm.scenario import Scenario, with_overrides

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


def replicate_seeds(base_seed: int, replicates: int) -> list[int]:
    """The common seeds: replicate k gets ``base_seed + k`` in every scenario."""
    return [base_seed + k for k in range(replicates)]


def run_replicates(
    scenarios: Sequence[Scenario], replicates: int, base_seed: int = 1
) -> pd.DataFrame:
    """Run every scenario on the same seeds; one row per (scenario, seed) with its summary."""
    rows = []
    cache: dict[float, tuple] = {}
    for settings in scenarios:
        km = settings.map.resolution_km
        if km not in cache:
            world = build_world(km, settings.map.buffer_km)
            cache[km] = (world, build_routes(world))
        world, routes = cache[km]
        for seed in replicate_seeds(base_seed, replicates):
            seeded = with_overrides(settings, {"seed": seed}, settings.name)
            model = BorderModel(seeded, world=world, routes=routes)
            model.run()
            rows.append({"scenario": settings.name, "seed": seed, **model.summary()})
    return pd.DataFrame(rows)


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
