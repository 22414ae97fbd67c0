"""Robust comparison: does a policy beat the reference across every plausible world?

A *world* is one draw of the uncertain parameters (a row of the calibration's posterior, or a point
of a Latin hypercube over prior ranges: :mod:`borderabm.experiments.uncertainty`). Every policy runs
on the same draws and the same seeds (common random numbers), so each world compares the policies
under the same assumptions and the same luck. Per metric, and per policy against the first
(the reference):

* **paired difference**: policy − reference, run by run on the same draw and seed; its mean with a
  95% Student-t interval over the worlds (each world's difference averaged over its seeds: the
  worlds are independent draws, the seeds within one are not the quantity of interest), and the
  5th–95th percentile of the worlds' differences (where the difference lies in 90% of worlds);
* **share of worlds in which the policy beats the reference** (its seed-averaged value is better;
  a tie is no win), and the share in which it is the best of all policies compared;
* **regret** in each world: how far the policy falls short of the best policy in that world (in the
  metric's unit, ≥ 0); its mean over worlds and its **worst case** (the largest), with the worst
  value the policy reaches in any world (Savage's minimax regret and Wald's maximin criteria, as
  robust decision making reads them: Lempert, Popper & Bankes 2003, *Shaping the Next One Hundred
  Years*, RAND MR-1626);
* **where the ranking flips**: when a policy beats the reference in some worlds and not in others,
  PRIM (the EMA Workbench's, see :mod:`borderabm.analysis.prim`) looks for the box of parameters
  where the minority outcome concentrates ("the corridor loses on attacks when
  population.militants ≥ 600 and …"), with its coverage and density.

"Better" needs a direction per metric: :data:`BETTER` says which way each headline metric is read
(fewer attacks, more formal trade…); metrics with no agreed direction are shown without wins or
regret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from borderabm.analysis.compare import interval
from borderabm.analysis.prim import PrimUnavailableError, prim, reported_limits
from borderabm.experiments.store import MANIFEST, ResultsStore, StoreError
from borderabm.experiments.sweep import variant_label
from borderabm.metrics import HEADLINE_METRICS, MetricName

LOWER = "lower"
HIGHER = "higher"
# Which way each headline metric is better, as the border state and the people crossing read it.
# Informal trade and irregular refugee crossings are read as the state reads them (fewer is its
# aim); a humanitarian reading differs, and the raw differences are shown either way.
BETTER: dict[str, str] = {
    MetricName.MILITANT_CROSSINGS: LOWER,
    MetricName.ATTACKS: LOWER,
    MetricName.FORMAL_TRADE_USD: HIGHER,
    MetricName.INFORMAL_TRADE_USD: LOWER,
    MetricName.REFUGEE_CROSSINGS_IRREGULAR: LOWER,
    MetricName.STRANDED_PEOPLE_MAX: LOWER,
    MetricName.STRANDED_TRUCKS_MAX: LOWER,
    MetricName.TRADE_LOST_USD: LOWER,
    MetricName.BORDER_DEATHS: LOWER,
    MetricName.CROSSING_CLOSED_DAYS: LOWER,
    MetricName.POLICY_COST_USD: LOWER,
}
SPREAD_QUANTILES = (0.05, 0.95)
# PRIM on a few dozen worlds: cut a tenth per peel, keep boxes of at least a tenth of the worlds,
# and report a box only if it holds half the flips (coverage) at least twice as densely as overall.
FLIP_PEEL_ALPHA = 0.1
FLIP_MIN_MASS = 0.1
FLIP_MIN_COVERAGE = 0.5
FLIP_MIN_LIFT = 1.5
FLIP_MAX_QUASI_P = 0.1
MIN_FLIPS = 5  # fewer worlds with the minority outcome than this: no box is sought


@dataclass(frozen=True, eq=False)  # holds DataFrames
class RobustComparison:
    """The robust comparison of the policies in a results store.

    Attributes:
        order: The policies (scenario names); the first is the reference.
        parameters: The uncertain parameters (dotted keys) that vary between worlds.
        worlds: How many parameter draws.
        seeds: Seeds per world.
        table: One row per policy and metric (see :func:`robust_table`).
        flips: One row per policy and metric whose ranking against the reference flips between
            worlds: the box PRIM finds (see :func:`flip_table`).
        world_values: Seed-averaged value per policy, metric and world (long form), with the
            world's parameters: what the tables are computed from.
        source: The uncertainty file the draws came from.
        runs: The runs compared, one row each: ``scenario`` (the policy), ``point`` (the world),
            ``seed``, the metrics and, from a results store, ``run_id``.
    """

    order: list[str]
    parameters: list[str]
    worlds: int
    seeds: int
    table: pd.DataFrame
    flips: pd.DataFrame
    world_values: pd.DataFrame
    source: str
    runs: pd.DataFrame

    @property
    def reference(self) -> str:
        """The policy every other is compared with."""
        return self.order[0]

    def head_to_head(self, policy: str, other: str, metric: str) -> tuple[float, float]:
        """The shares of worlds in which ``policy`` beats ``other`` on ``metric``, and ties.

        Raises:
            KeyError: For a metric with no direction (see :data:`BETTER`) or one not compared.
        """
        sign = -1.0 if BETTER[metric] == LOWER else 1.0
        values = self.world_values[self.world_values["metric"] == metric]
        if values.empty:
            raise KeyError(metric)
        diff = sign * (values[policy] - values[other]).to_numpy(dtype=float)
        diff = diff[np.isfinite(diff)]
        return float(np.mean(diff > 0)), float(np.mean(diff == 0))

    def head_to_head_table(self) -> pd.DataFrame:
        """Every pair of policies other than the reference, per metric with a direction.

        Returns:
            Columns ``metric``, ``policy``, ``other``, ``share_beats``, ``share_ties``.
        """
        rows = []
        policies = self.order[1:]
        for metric in dict.fromkeys(self.world_values.get("metric", [])):
            if metric not in BETTER:
                continue
            for i, policy in enumerate(policies):
                for other in policies[i + 1 :]:
                    beats, ties = self.head_to_head(policy, other, metric)
                    rows.append({"metric": metric, "policy": policy, "other": other,
                                 "share_beats": beats, "share_ties": ties})  # fmt: skip
        return pd.DataFrame(rows)


def load_robust(store: ResultsStore, metrics: Sequence[str] = HEADLINE_METRICS) -> RobustComparison:
    """The robust comparison of a results store made by ``compare --uncertainty``.

    Raises:
        StoreError: Naming the folder: not a results directory, no finished runs, or not a
            comparison over parameter draws.
    """
    manifest = store.read_manifest()
    if manifest is None:
        raise StoreError(f"{store.root}: not a results directory (no {MANIFEST})")
    design = manifest.design
    if design is None or design.kind != "draws":
        raise StoreError(f"{store.root}: {MANIFEST}: not a comparison over parameter draws "
                         "(made by compare --uncertainty)")  # fmt: skip
    runs = store.runs()
    if runs.empty:
        raise StoreError(f"{store.root}: runs: no finished runs yet")
    variants = getattr(design, "variants", None)
    if variants:
        runs, order = _variants_as_policies(runs, variants, len(design.points) // len(variants))
    else:
        order = [s for s in manifest.scenarios if s in set(runs["scenario"])]
    parameters = [p for p in design.parameters if p in runs]
    source = str((getattr(design, "uncertainty", None) or {}).get("file", ""))
    return robust_comparison(runs, order, parameters, metrics, source)


def _variants_as_policies(
    runs: pd.DataFrame, variants: list[dict], worlds: int
) -> tuple[pd.DataFrame, list[str]]:
    """Runs of lever variants across worlds, as policies (variant labels) x worlds (draws).

    Design point ``v x worlds + w`` is variant ``v`` in world ``w`` (see
    :func:`~borderabm.experiments.sweep.variant_sweep`).
    """
    variant, world = np.divmod(runs["point"].to_numpy(dtype=int), max(worlds, 1))
    labels = [
        variant_label(scenario, variants[v])
        for scenario, v in zip(runs["scenario"], variant, strict=True)
    ]
    finished = set(labels)
    order = [label for label in dict.fromkeys(
        variant_label(runs["scenario"].iloc[0], v) for v in variants) if label in finished]  # fmt: skip
    return runs.assign(scenario=labels, point=world), order


def robust_comparison(
    runs: pd.DataFrame,
    order: Sequence[str],
    parameters: Sequence[str],
    metrics: Sequence[str] = HEADLINE_METRICS,
    source: str = "",
) -> RobustComparison:
    """Compare policies across worlds (design points) and seeds.

    Args:
        runs: One row per run: ``scenario``, ``point`` (the world), ``seed`` and the metrics, and
            the world's parameters as columns.
        order: The policies; the first is the reference.
        parameters: The parameter columns that vary between worlds.
        metrics: The metrics to compare (those the runs lack are left out).
        source: Where the draws came from (for the report).
    """
    order = list(order)
    metrics = [m for m in metrics if m in runs]
    runs = runs[runs["scenario"].isin(order)]
    points = np.sort(runs["point"].unique())
    seeds = np.sort(runs["seed"].unique())
    world_params = (runs.drop_duplicates("point").set_index("point").loc[points, list(parameters)]
                    .reset_index())  # fmt: skip
    tables, flips, values = [], [], []
    for metric in metrics:
        cube = _cube(runs, order, points, seeds, metric)  # policy x world x seed
        per_world = np.nanmean(cube, axis=2)
        tables.append(robust_table(order, metric, cube, per_world))
        flips.append(flip_table(order, metric, per_world, world_params, list(parameters)))
        frame = pd.DataFrame(per_world.T, columns=order).assign(point=points, metric=metric)
        values.append(frame.merge(world_params, on="point"))
    return RobustComparison(
        order=order,
        parameters=list(parameters),
        worlds=int(points.size),
        seeds=int(seeds.size),
        table=pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
        flips=pd.concat(flips, ignore_index=True) if flips else pd.DataFrame(),
        world_values=pd.concat(values, ignore_index=True) if values else pd.DataFrame(),
        source=source,
        runs=runs.reset_index(drop=True),
    )


def _cube(runs: pd.DataFrame, order: list[str], points: np.ndarray, seeds: np.ndarray,
          metric: str) -> np.ndarray:  # fmt: skip
    """The metric as a policy x world x seed array (NaN where a run is missing)."""
    cube = np.full((len(order), points.size, seeds.size), np.nan)
    policy = pd.Categorical(runs["scenario"], categories=order).codes
    world = np.searchsorted(points, runs["point"].to_numpy())
    seed = np.searchsorted(seeds, runs["seed"].to_numpy())
    cube[policy, world, seed] = runs[metric].to_numpy(dtype=float)
    return cube


def robust_table(order: list[str], metric: str, cube: np.ndarray,
                 per_world: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per policy for one metric: level, paired difference, wins, regret, worst case.

    Args:
        order: The policies; the first is the reference.
        metric: The metric.
        cube: Its values, policy x world x seed.
        per_world: Its seed-averaged values, policy x world.

    Returns:
        Columns ``scenario``, ``metric``, ``better`` (``lower``/``higher``/empty), ``mean`` (over
        worlds and seeds), ``world_low``/``world_high`` (5th/95th percentile over worlds),
        ``diff``/``diff_low``/``diff_high`` (the mean paired difference and its 95% interval over
        worlds), ``diff_world_low``/``diff_world_high`` (5th/95th percentile of the worlds'
        differences), ``clear``, ``share_beats`` (share of worlds better than the reference),
        ``share_best`` (share of worlds best of all), ``regret_mean``, ``regret_max`` and
        ``worst`` (the worst world's value).
    """
    better = BETTER.get(metric, "")
    sign = -1.0 if better == LOWER else 1.0
    score = sign * per_world
    comparable = np.all(np.isfinite(score), axis=0)  # worlds where every policy has a value
    best = np.max(score[:, comparable], axis=0) if comparable.any() else np.array([])
    rows = []
    for index, name in enumerate(order):
        worlds = per_world[index]
        finite = worlds[np.isfinite(worlds)]
        row: dict = {"scenario": name, "metric": metric, "better": better,
                     "mean": float(np.nanmean(cube[index])) if finite.size else np.nan,
                     "world_low": _quantile(finite, SPREAD_QUANTILES[0]),
                     "world_high": _quantile(finite, SPREAD_QUANTILES[1])}  # fmt: skip
        if index > 0:
            world_diff = per_world[index] - per_world[0]
            world_diff = world_diff[np.isfinite(world_diff)]
            diff = interval(world_diff)
            row |= {"diff": diff.mean, "diff_low": diff.low, "diff_high": diff.high,
                    "diff_world_low": _quantile(world_diff, SPREAD_QUANTILES[0]),
                    "diff_world_high": _quantile(world_diff, SPREAD_QUANTILES[1]),
                    "clear": diff.clear}  # fmt: skip
        if better and comparable.any():
            own = score[index, comparable]
            regret = best - own
            reference = score[0, comparable]
            row |= {"share_beats": float(np.mean(own > reference)) if index else np.nan,
                    "share_ties": float(np.mean(own == reference)) if index else np.nan,
                    "share_best": float(np.mean(own >= best)),
                    "regret_mean": float(regret.mean()), "regret_max": float(regret.max()),
                    "worst": float(sign * own.min())}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if values.size else np.nan


def flip_table(order: list[str], metric: str, per_world: np.ndarray, world_params: pd.DataFrame,
               parameters: list[str]) -> pd.DataFrame:  # fmt: skip
    """Where each policy's ranking against the reference flips, found by PRIM.

    A ranking flips when the policy beats the reference in some worlds and falls behind it in
    others (a tie, e.g. no closure under either, is neither). The cases are the worlds; a world is
    *of interest* when it holds the minority outcome (the policy loses where it mostly wins, or wins
    where it mostly loses). A box is reported only when it covers at least half of those worlds at
    1.5 times their overall share or more; otherwise the flips are reported as scattered (no region
    of the parameters explains them).

    Returns:
        One row per policy whose ranking flips: ``scenario``, ``metric``, ``outcome``
        (``wins``/``loses``: the minority outcome), ``worlds`` (how many worlds have it), ``share``
        (of all worlds, the base rate of the box's density), ``ties`` (worlds with no
        difference), ``condition`` (the box in words, or empty), ``coverage``, ``density``,
        ``mass``, ``note``. With few seeds per world a world's outcome is partly luck: boxes that
        luck alone would make are what the quasi-p bound and the minimum lift keep out.
    """
    better = BETTER.get(metric)
    rows: list[dict] = []
    if not better or not parameters:
        return pd.DataFrame(rows)
    sign = -1.0 if better == LOWER else 1.0
    x = world_params[parameters].astype(float)
    for index in range(1, len(order)):
        diff = sign * (per_world[index] - per_world[0])
        finite = np.isfinite(diff)
        wins, losses = diff[finite] > 0, diff[finite] < 0
        if not (wins.any() and losses.any()):
            continue  # one way in every world (ties apart): nothing flips
        minority_wins = wins.sum() < losses.sum()
        interest = wins if minority_wins else losses
        count = int(interest.sum())
        row = {"scenario": order[index], "metric": metric,
               "outcome": "wins" if minority_wins else "loses", "worlds": count,
               "share": count / int(finite.sum()), "ties": int((~wins & ~losses).sum()),
               "condition": "", "coverage": np.nan, "density": np.nan, "mass": np.nan,
               "note": ""}  # fmt: skip
        rows.append(row)
        if count < MIN_FLIPS:
            row["note"] = f"too few worlds ({count}) to look for a region"
            continue
        try:
            found = prim(x[finite].reset_index(drop=True), interest, peel_alpha=FLIP_PEEL_ALPHA,
                         min_mass=FLIP_MIN_MASS, min_coverage=FLIP_MIN_COVERAGE,
                         max_quasi_p=FLIP_MAX_QUASI_P)  # fmt: skip
        except PrimUnavailableError:
            row["note"] = "PRIM needs the EMA Workbench: pip install 'borderabm[discovery]'"
            continue
        step = found.boxes[0].step
        lift = step.density / max(found.base_rate, 1e-12)
        if not step.restricted or step.coverage < FLIP_MIN_COVERAGE or lift < FLIP_MIN_LIFT:
            row["note"] = "scattered: no region of the parameters holds them"
            continue
        integers = tuple(p for p in parameters if np.all(x[p] == np.round(x[p])))
        row |= {
            "condition": describe_box(step, found.names, x, integers),
            "coverage": step.coverage,
            "density": step.density,
            "mass": step.mass,
        }
    return pd.DataFrame(rows)


def describe_box(step, names: list[str], x: pd.DataFrame, integers: tuple[str, ...]) -> str:
    """A box as words: ``population.militants >= 608 and conditions.ceasefire <= 0.31``."""
    lower, upper = reported_limits(step, names, integers)
    parts = []
    for j, name in enumerate(names):
        if name not in step.restricted:
            continue
        # Whole-number parameters keep whole limits; others three significant digits.
        shown = "{:.0f}" if name in integers else "{:.3g}"
        if lower[j] > float(x[name].min()):
            parts.append(f"{name} >= {shown.format(lower[j])}")
        if upper[j] < float(x[name].max()):
            parts.append(f"{name} <= {shown.format(upper[j])}")
    return " and ".join(parts)
