"""Fitting: ABC rejection, surrogate ABC with a second wave, the fitted point and its verification."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from borderabm.analysis.calibration.runs import (
    design_points,
    design_targets,
    quantity,
    simulate,
    unit_to_values,
    values_to_unit,
)
from borderabm.analysis.calibration.spec import (
    FRESH_SEED_OFFSET,
    VERIFY_SEED_OFFSET,
    Calibration,
    CalibrationError,
    as_prior_type,
    dotted_value,
)
from borderabm.analysis.calibration.surrogate import (
    Surrogate,
    deviations,
    distance,
    fit_surrogate,
    implausibility,
    quadratic_terms,
)
from borderabm.analysis.compare import interval
from borderabm.scenario import (
    Scenario,
    with_overrides,
)

MIN_ACCEPTED = 50
SIGNIFICANT_DIGITS = 3


@dataclass
class Fit:
    """What calibration found."""

    design: pd.DataFrame  # per design point: parameters, mean quantities, distance, accepted
    surrogates: dict[str, Surrogate]
    posterior: pd.DataFrame  # accepted surrogate draws: parameters, predictions, distance
    posterior_rule: str
    fitted: dict[str, int | float]
    ranges: pd.DataFrame  # per parameter: prior, ABC rejection and surrogate posterior ranges
    candidates: pd.DataFrame  # fitted-point candidates: origin, values (+ scores from select)
    verification: pd.DataFrame = field(default_factory=pd.DataFrame)  # per target


def _draws(calibration: Calibration) -> np.ndarray:
    spec = calibration.spec
    return qmc.LatinHypercube(d=len(spec.parameters), seed=spec.seed + 1).random(
        spec.design.surrogate_draws
    )


def _design_table(
    calibration: Calibration, quantities: pd.DataFrame, points: list[dict[str, Any]]
) -> pd.DataFrame:
    spec = calibration.spec
    targets = spec.fitted_targets()
    computed = [name for name in design_targets(spec) if name in quantities]
    means = quantities.groupby("point")[computed].mean().reindex(range(len(points)))
    design = pd.DataFrame(points)
    design.insert(0, "point", range(len(points)))
    design.insert(1, "wave", [1 if i < spec.design.samples else 2 for i in range(len(points))])
    design = pd.concat([design, means.reset_index(drop=True)], axis=1)
    design["distance"] = distance(
        deviations(design[list(targets)].to_numpy(), list(targets.values()))
    )
    return design


def first_wave_region(calibration: Calibration, design: pd.DataFrame):
    """The global surrogates of the first (Latin hypercube) wave and the draws they cannot rule out.

    Returns:
        (surrogates, draws in the unit cube, mask of the draws with implausibility <= 1).
    """
    spec = calibration.spec
    targets = spec.fitted_targets()
    first = design[design["wave"] == 1]
    unit = values_to_unit(calibration, first[calibration.names].to_numpy(dtype=float))
    surrogates = {name: fit_surrogate(unit, first[name].to_numpy(dtype=float)) for name in targets}
    draws = _draws(calibration)
    region = implausibility(surrogates, draws, list(targets.values())) <= 1.0
    return surrogates, draws, region


def refine_points(calibration: Calibration, quantities: pd.DataFrame) -> list[dict[str, Any]]:
    """Second-wave points: a seeded sample of the draws the first wave cannot rule out."""
    spec = calibration.spec
    count = spec.design.refine_samples
    if not count:
        return []
    design = _design_table(calibration, quantities, design_points(calibration))
    surrogates, draws, region = first_wave_region(calibration, design)
    candidates = np.flatnonzero(region)
    if candidates.size < count:  # too small a region: take the least implausible draws
        worst = implausibility(surrogates, draws, list(spec.fitted_targets().values()))
        candidates = np.argsort(worst, kind="stable")[: max(count, 1)]
    rng = np.random.default_rng(spec.seed + 2)
    chosen = np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))
    values = unit_to_values(calibration, draws[chosen])
    priors = list(spec.parameters.values())
    return [{key: as_prior_type(prior, v)
             for key, prior, v in zip(spec.parameters, priors, row, strict=True)}
            for row in values]  # fmt: skip


def fit(
    calibration: Calibration, quantities: pd.DataFrame, points: list[dict[str, Any]] | None = None
) -> Fit:
    """ABC rejection on the first wave, surrogate ABC (refined by a second wave); the fitted point.

    Args:
        calibration: The loaded spec.
        quantities: Per design run, its point and target quantities (:func:`design_quantities`).
        points: Every simulated design point (first wave, then second); default: the first wave.

    Raises:
        CalibrationError: If no prior draw can be scored against the fitted targets.
    """
    design = _design_table(calibration, quantities, points or design_points(calibration))
    design["accepted"] = _abc_rejection(calibration, design)
    surrogates, draws_unit, scored, stage = _scoring_surrogates(calibration, design)
    posterior, accepted, rule = _surrogate_posterior(
        calibration, surrogates, draws_unit, scored, stage
    )
    candidates, choice = _fitted_candidates(calibration, design, draws_unit, accepted)
    fitted = {key: value for key, value in candidates[0].items() if key != "origin"}
    ranges = _parameter_ranges(calibration, design, posterior, fitted)
    return Fit(design, surrogates, posterior, f"{rule}; {choice}", fitted, ranges,
               pd.DataFrame(candidates))  # fmt: skip


def _abc_rejection(calibration: Calibration, design: pd.DataFrame) -> np.ndarray:
    """ABC rejection: whether each design point is among the closest ``accept_share`` of wave 1."""
    first = design["wave"] == 1
    keep = max(1, math.ceil(calibration.spec.design.accept_share * int(first.sum())))
    order = design.loc[first, "distance"].sort_values(kind="stable").index[:keep]
    return design.index.isin(order)


def _scoring_surrogates(
    calibration: Calibration, design: pd.DataFrame
) -> tuple[dict[str, Surrogate], np.ndarray, np.ndarray, str]:
    """The surrogates that score the prior draws, the draws, which of them to score, and how.

    Without a second wave: the first wave's global surrogates score every draw. With one: the
    surrogates are refitted to the simulated points (of both waves) that the first wave could not
    rule out, so the quadratic is local to the posterior region, and only the draws in that region
    are scored (the first-wave surrogate has ruled out the rest); if fewer than
    :data:`MIN_ACCEPTED` draws are plausible, the least implausible ones are scored instead.

    Returns:
        (surrogates, draws in the unit cube, indices of the draws to score, description).
    """
    names = calibration.names
    targets = calibration.spec.fitted_targets()
    target_list = list(targets.values())
    first_surrogates, draws_unit, region = first_wave_region(calibration, design)
    if not (design["wave"] == 2).any():
        stage = "a quadratic surrogate of each fitted quantity fitted to the first wave"
        return first_surrogates, draws_unit, np.arange(len(draws_unit)), stage
    unit_all = values_to_unit(calibration, design[names].to_numpy(dtype=float))
    near = implausibility(first_surrogates, unit_all, target_list) <= 1.0
    if near.sum() < quadratic_terms(len(names)) + 2:
        worst = implausibility(first_surrogates, unit_all, target_list)
        near = worst <= np.sort(worst)[quadratic_terms(len(names)) + 1]
    surrogates = {name: fit_surrogate(unit_all[near], design.loc[near, name].to_numpy(float))
                  for name in targets}  # fmt: skip
    scored = np.flatnonzero(region)
    stage = (f"a first-wave quadratic surrogate left {region.sum():,} of {len(region):,} prior "
             f"draws plausible (history matching, tolerance and surrogate error together); "
             f"{int((design['wave'] == 2).sum())} second-wave points were drawn there and "
             f"the surrogate refitted to the {int(near.sum())} simulated points in that "
             "region")  # fmt: skip
    if scored.size < MIN_ACCEPTED:
        # Too small (or empty) a region, e.g. targets the model cannot meet together: score the
        # least implausible draws instead, so the posterior is never empty.
        worst = implausibility(first_surrogates, draws_unit, target_list)
        scored = np.sort(np.argsort(worst, kind="stable")[:MIN_ACCEPTED])
        stage += (f"; as fewer than {MIN_ACCEPTED} draws were plausible, the "
                  f"{scored.size} least implausible draws were scored instead")  # fmt: skip
    return surrogates, draws_unit, scored, stage


def _surrogate_posterior(
    calibration: Calibration,
    surrogates: Mapping[str, Surrogate],
    draws_unit: np.ndarray,
    scored: np.ndarray,
    stage: str,
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Surrogate ABC: the scored draws predicted within every tolerance, else the closest ones.

    Returns:
        (posterior: parameters, predictions and distance per accepted draw; indices of the
        accepted draws; the rule, in words).

    Raises:
        CalibrationError: If no scored draw has a finite predicted distance.
    """
    targets = calibration.spec.fitted_targets()
    predicted = np.column_stack([surrogates[name].predict(draws_unit[scored])
                                 for name in targets])  # fmt: skip
    draw_z = deviations(predicted, list(targets.values()))
    draw_distance = distance(draw_z)
    inside = np.all(np.abs(draw_z) <= 1.0, axis=1)
    if inside.sum() >= MIN_ACCEPTED:
        chosen = np.flatnonzero(inside)
        rule = (f"{stage}; {inside.sum():,} of {len(draws_unit):,} prior draws are predicted "
                "within every fitted target's tolerance")  # fmt: skip
    else:
        count = max(MIN_ACCEPTED, math.ceil(calibration.spec.design.accept_share * len(inside)))
        chosen = np.argsort(draw_distance, kind="stable")[:count]
        chosen = chosen[np.isfinite(draw_distance[chosen])]
        rule = (f"{stage}; only {inside.sum():,} prior draws were predicted within every "
                f"tolerance, so the posterior is the {chosen.size:,} scored draws closest to the "
                "targets")  # fmt: skip
    if not chosen.size:
        raise CalibrationError(
            "no prior draw has a finite predicted distance to the fitted targets, so there is no "
            "posterior; the design runs are kept in the store (check the targets' metrics)"
        )
    accepted = scored[chosen]
    posterior = pd.DataFrame(unit_to_values(calibration, draws_unit[accepted]),
                             columns=calibration.names)  # fmt: skip
    for column, name in enumerate(targets):
        posterior[f"predicted.{name}"] = predicted[chosen, column]
    posterior["distance"] = draw_distance[chosen]
    return posterior, accepted, rule


def _fitted_candidates(
    calibration: Calibration, design: pd.DataFrame, draws_unit: np.ndarray, accepted: np.ndarray
) -> tuple[list[dict[str, Any]], str]:
    """Candidates for the fitted point, rounded, best first; and how they were chosen.

    Simulated points whose replicate means meet every tolerance (they have been run, so surrogate
    error cannot mislead) nearest the posterior median come first; if there are none, the posterior
    draws nearest the median. :func:`select` picks among them on fresh seeds.
    """
    spec = calibration.spec
    names = calibration.names
    targets = spec.fitted_targets()
    median_unit = np.median(draws_unit[accepted], axis=0)
    z = deviations(design[list(targets)].to_numpy(), list(targets.values()))
    met = np.all(np.abs(z) <= 1.0, axis=1)
    count = spec.design.candidates
    if met.any():
        unit_met = values_to_unit(calibration, design.loc[met, names].to_numpy(dtype=float))
        order = np.argsort(np.sum((unit_met - median_unit) ** 2, axis=1), kind="stable")[:count]
        best = design.loc[met, names].to_numpy(dtype=float)[order]
        where = [f"simulated point {int(p)}" for p in design.loc[met, "point"].to_numpy()[order]]
        choice = (f"fitted-point candidates: the {len(order)} of the {int(met.sum())} simulated "
                  "points whose replicate means meet every tolerance nearest the posterior "
                  "median")  # fmt: skip
    else:
        order = np.argsort(np.sum((draws_unit[accepted] - median_unit) ** 2, axis=1),
                           kind="stable")[:count]  # fmt: skip
        best = unit_to_values(calibration, draws_unit[accepted[order]])
        where = [f"posterior draw {int(i)}" for i in accepted[order]]
        choice = ("no simulated point met every tolerance, so the fitted-point candidates are "
                  f"the {len(order)} posterior draws nearest the posterior median")  # fmt: skip
    candidates = [
        {"origin": origin}
        | {key: as_prior_type(prior, _round(value))
           for (key, prior), value in zip(spec.parameters.items(), row, strict=True)}
        for origin, row in zip(where, best, strict=True)
    ]  # fmt: skip
    return candidates, choice


def _parameter_ranges(
    calibration: Calibration, design: pd.DataFrame, posterior: pd.DataFrame,
    fitted: Mapping[str, Any],
) -> pd.DataFrame:  # fmt: skip
    """Per parameter: old value, prior, ABC rejection and posterior ranges, fitted value, source."""
    base_document = calibration.base.model_dump(mode="json")
    sims = design[design["accepted"]]
    rows = []
    for key, prior in calibration.spec.parameters.items():
        rows.append({
            "parameter": key,
            "default": dotted_value(base_document, key),
            "prior_low": prior.low,
            "prior_high": prior.high,
            "prior_scale": "log-uniform" if prior.log else "uniform",
            "abc_low": float(sims[key].quantile(0.05)),
            "abc_high": float(sims[key].quantile(0.95)),
            "posterior_low": float(posterior[key].quantile(0.05)),
            "posterior_median": float(posterior[key].median()),
            "posterior_high": float(posterior[key].quantile(0.95)),
            "fitted": fitted[key],
            "source": prior.source,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _round(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def fitted_scenario(calibration: Calibration, fitted: Mapping[str, Any]) -> Scenario:
    """The base scenario with the fitted values."""
    return with_overrides(calibration.base, dict(fitted), str(calibration.source))


def select(calibration: Calibration, result: Fit) -> None:
    """Pick the fitted point among the candidates by their fit on fresh seeds (in place).

    Each candidate is run with ``verify_replicates`` seeds from ``seed + 1000`` (seeds the design
    never used); the one whose replicate means are closest to the fitted targets (by √(mean z²))
    becomes ``result.fitted``. Its reported verification then uses yet other seeds
    (:func:`verify`, from ``seed + 2000``), so the selection does not flatter the report.
    """
    spec = calibration.spec
    targets = spec.fitted_targets()
    seeds = [spec.seed + FRESH_SEED_OFFSET + k for k in range(spec.verify_replicates)]
    scores = []
    for candidate in result.candidates.to_dict("records"):
        values = {k: v for k, v in candidate.items() if k != "origin"}
        runs = simulate(fitted_scenario(calibration, values), seeds)
        means = [np.mean([quantity(t, summary, series, calibration.base) for summary, series in runs])
                 for t in targets.values()]  # fmt: skip
        scores.append({f"selection.{name}": m for name, m in zip(targets, means, strict=True)}
                      | {"selection.distance": float(distance(deviations(
                          np.array([means]), list(targets.values())))[0])})  # fmt: skip
    result.candidates = pd.concat([result.candidates, pd.DataFrame(scores)], axis=1)
    best = int(np.argmin(result.candidates["selection.distance"].to_numpy()))
    result.candidates["chosen"] = [i == best for i in range(len(result.candidates))]
    chosen = result.candidates.iloc[best]
    result.fitted = {
        key: as_prior_type(prior, chosen[key]) for key, prior in spec.parameters.items()
    }
    result.ranges["fitted"] = [result.fitted[key] for key in result.ranges["parameter"]]


def verify(calibration: Calibration, fitted: Mapping[str, Any]) -> pd.DataFrame:
    """Re-run the fitted point on fresh seeds and score every target (fits and checks).

    The seeds start at ``seed + 2000``: neither the design nor the choice among candidates
    (:func:`select`) used them.

    Returns:
        One row per target: name, role, label, statistic, value, low, high, unit, model mean and
        95% interval over the replicates, ``within`` (mean within [low, high]), z, source, mapping.
    """
    spec = calibration.spec
    settings = fitted_scenario(calibration, fitted)
    seeds = [spec.seed + VERIFY_SEED_OFFSET + k for k in range(spec.verify_replicates)]
    runs_by_overrides: dict[str, list] = {}
    rows = []
    for name, target in spec.targets.items():
        key = json.dumps(target.scenario, sort_keys=True, default=str)
        if target.statistic == "input":
            run_settings = with_overrides(settings, target.scenario, str(calibration.source))
            values = [quantity(target, {}, None, run_settings)]
        else:
            if key not in runs_by_overrides:
                run_settings = with_overrides(settings, target.scenario, str(calibration.source))
                runs_by_overrides[key] = [
                    (summary, series, run_settings)
                    for summary, series in simulate(run_settings, seeds, derived=True)
                ]
            values = [quantity(target, s, series, st) for s, series, st in runs_by_overrides[key]]
        level = interval(values)
        z = float(deviations(np.array([[level.mean]]), [target])[0, 0]) if target.high > target.low \
            else (0.0 if math.isclose(level.mean, target.value) else math.inf)  # fmt: skip
        rows.append({
            "target": name, "role": target.role, "label": target.label,
            "statistic": target.statistic, "metric": target.metric, "value": target.value,
            "low": target.low, "high": target.high, "unit": target.unit, "mean": level.mean,
            "ci_low": level.low, "ci_high": level.high, "replicates": len(values),
            "within": bool(target.low <= level.mean <= target.high), "z": z,
            "source": target.source, "mapping": target.mapping,
            "overrides": ", ".join(f"{k} = {v}" for k, v in target.scenario.items()),
        })  # fmt: skip
    return pd.DataFrame(rows)
