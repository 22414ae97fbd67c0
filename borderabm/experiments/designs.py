"""Experimental designs over scenario parameters (dotted keys, as with ``--set``).

* ``factorial`` — every combination of each parameter's listed levels;
* ``lhs`` — Latin hypercube over each parameter's [low, high] (scipy.stats.qmc);
* ``sobol`` — Saltelli's extension of Sobol sequences, for Sobol indices (SALib);
* ``morris`` — Morris trajectories, for elementary-effects screening (SALib).

Designs are deterministic for a given seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import qmc

DesignKind = Literal["factorial", "lhs", "sobol", "morris"]
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Parameter:
    """One varied parameter: explicit levels (factorial) or a range (sampled designs)."""

    key: str
    levels: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False  # sample uniformly on a log scale (Latin hypercube only; needs low > 0)

    @property
    def ranged(self) -> bool:
        """Whether the parameter is given as a [low, high] range."""
        return self.low is not None and self.high is not None

    @property
    def bounds(self) -> tuple[float, float]:
        """The [low, high] range of a ranged parameter.

        Raises:
            ValueError: If the parameter is not given as a range.
        """
        if self.low is None or self.high is None:
            raise ValueError(f"{self.key} needs 'low' and 'high'")
        return self.low, self.high


def salib_problem(parameters: list[Parameter]) -> dict:
    """The SALib problem definition of ranged parameters."""
    return {
        "num_vars": len(parameters),
        "names": [p.key for p in parameters],
        "bounds": [[float(low), float(high)] for low, high in (p.bounds for p in parameters)],
    }


def generate(kind: DesignKind, parameters: list[Parameter], samples: int, seed: int) -> list[dict]:
    """The design points: one mapping of dotted key to value per point.

    Args:
        kind: The design.
        parameters: What varies.
        samples: LHS points; Sobol base sample N (N x (D + 2) points); Morris trajectories
            (N x (D + 1) points). Ignored by ``factorial``.
        seed: Seed of the sampled designs.

    Raises:
        ValueError: If parameters do not suit the design.
    """
    if not parameters:
        return [{}]
    if kind == "factorial":
        missing = [p.key for p in parameters if not p.levels]
        if missing:
            raise ValueError(f"factorial designs need 'levels' for {', '.join(missing)}")
        return [
            dict(zip([p.key for p in parameters], combo, strict=True))
            # `or ()` only narrows the type: every parameter has levels past the check above.
            for combo in itertools.product(*[p.levels or () for p in parameters])
        ]
    missing = [p.key for p in parameters if not p.ranged]
    if missing:
        raise ValueError(f"{kind} designs need 'low' and 'high' for {', '.join(missing)}")
    logged = [p.key for p in parameters if p.log]
    if logged and kind != "lhs":
        raise ValueError(f"only lhs designs sample on a log scale ({', '.join(logged)})")
    sample = _sample(kind, parameters, samples, seed)
    # LHS samples the unit cube; SALib's samples are already scaled to the bounds.
    values = from_unit(parameters, sample) if kind == "lhs" else sample
    return [{p.key: _cast(p, v) for p, v in zip(parameters, row, strict=True)} for row in values]


def from_unit(parameters: list[Parameter], unit: np.ndarray) -> np.ndarray:
    """Map points of the unit cube to parameter values: uniform, or log-uniform where ``log``."""
    values = np.empty_like(unit, dtype=float)
    for column, p in enumerate(parameters):
        u = unit[:, column]
        low, high = p.bounds
        if p.log:
            values[:, column] = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
        else:
            values[:, column] = low + u * (high - low)
    return values


def to_unit(parameters: list[Parameter], values: np.ndarray) -> np.ndarray:
    """Map parameter values to the unit cube (the inverse of :func:`from_unit`)."""
    unit = np.empty_like(values, dtype=float)
    for column, p in enumerate(parameters):
        v = values[:, column]
        low, high = p.bounds
        if p.log:
            unit[:, column] = (np.log(v) - np.log(low)) / (np.log(high) - np.log(low))
        else:
            unit[:, column] = (v - low) / (high - low)
    return unit


def _sample(kind: str, parameters: list[Parameter], samples: int, seed: int) -> np.ndarray:
    if kind == "lhs":
        return qmc.LatinHypercube(d=len(parameters), seed=seed).random(samples)
    problem = salib_problem(parameters)
    if kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    if kind == "morris":
        from SALib.sample import morris

        return morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    raise ValueError(f"unknown design '{kind}' (allowed: factorial, lhs, sobol, morris)")


def _cast(parameter: Parameter, value: float) -> Any:
    return int(round(value)) if parameter.integer else float(value)
