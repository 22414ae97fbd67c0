"""The quadratic surrogate of a model quantity, and distances to targets (ABC, history matching)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from borderabm.analysis.calibration.spec import TargetSpec


def quadratic_terms(dimensions: int) -> int:
    """Columns of a full quadratic model in ``dimensions`` variables (with the constant)."""
    return 1 + dimensions + dimensions * (dimensions + 1) // 2


def quadratic_features(unit: np.ndarray) -> np.ndarray:
    """Constant, linear and all second-order terms of points centred on the unit cube."""
    centred = np.asarray(unit, dtype=float) - 0.5
    columns = [np.ones(len(centred))]
    columns += [centred[:, i] for i in range(centred.shape[1])]
    columns += [centred[:, i] * centred[:, j]
                for i in range(centred.shape[1]) for j in range(i, centred.shape[1])]  # fmt: skip
    return np.column_stack(columns)


@dataclass(frozen=True)
class Surrogate:
    """A quadratic regression of one quantity (or of its logarithm) on the unit-scaled parameters."""

    coefficients: np.ndarray
    r2: float
    q2: float  # leave-one-out (predictive) R², on the scale of the fit
    log: bool  # fitted to log(quantity)
    rmse: float  # leave-one-out root mean square error, on the scale of the fit
    points: int  # design points it was fitted to

    def predict(self, unit: np.ndarray) -> np.ndarray:
        """Predicted quantity at points of the unit cube."""
        linear = quadratic_features(unit) @ self.coefficients
        return np.exp(linear) if self.log else linear

    def error(self, predicted: np.ndarray) -> np.ndarray:
        """The surrogate's typical error (leave-one-out RMSE) around predictions, in their units."""
        return np.abs(predicted) * self.rmse if self.log else np.full_like(predicted, self.rmse)


def fit_surrogate(unit: np.ndarray, y: np.ndarray) -> Surrogate:
    """Least-squares quadratic fit with its R² and leave-one-out Q² (from the hat matrix).

    A quantity that is positive at every design point is fitted on the log scale: trade and attack
    counts are close to products of the parameters (traders x value x trip rate), which are sums
    of logarithms, and so nearly quadratic in log-scaled parameters.
    """
    features = quadratic_features(unit)
    finite = np.isfinite(y)
    features, y = features[finite], y[finite]
    log = bool(y.size and np.all(y > 0))
    if log:
        y = np.log(y)
    coefficients, *_ = np.linalg.lstsq(features, y, rcond=None)
    residuals = y - features @ coefficients
    hat = np.einsum("ij,ji->i", features, np.linalg.pinv(features))
    loo = residuals / np.clip(1.0 - hat, 1e-9, None)
    spread = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residuals**2)) / spread if spread > 0 else 1.0
    q2 = 1.0 - float(np.sum(loo**2)) / spread if spread > 0 else 1.0
    rmse = float(np.sqrt(np.mean(loo**2))) if loo.size else 0.0
    return Surrogate(coefficients, r2, q2, log, rmse, int(y.size))


def deviations(values: np.ndarray, targets: list[TargetSpec]) -> np.ndarray:
    """``z`` per target: distance from the published value in units of the tolerance on that side.

    ``|z| <= 1`` means within the tolerance range. ``values`` has one column per target.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    z = np.empty_like(values)
    for column, target in enumerate(targets):
        v = values[:, column]
        above = np.maximum(target.high - target.value, 1e-300)
        below = np.maximum(target.value - target.low, 1e-300)
        z[:, column] = np.where(v >= target.value, (v - target.value) / above,
                                (v - target.value) / below)  # fmt: skip
    return np.where(np.isfinite(z), z, np.inf)


def distance(z: np.ndarray) -> np.ndarray:
    """Normalised distance of each row of deviations: the root mean square of ``z``."""
    return np.sqrt(np.mean(np.square(z), axis=1))


def implausibility(
    surrogates: Mapping[str, Surrogate], unit: np.ndarray, targets: list[TargetSpec]
) -> np.ndarray:
    """History matching: the largest, over targets, of |predicted - value| / sqrt(tol² + error²).

    The tolerance is the half-range on the side of the prediction, and the error the surrogate's
    leave-one-out RMSE, so a point is ruled out (> 1) only when it misses a target by more than the
    tolerance and the surrogate's own uncertainty together.
    """
    worst = np.zeros(len(unit))
    for target, surrogate in zip(targets, surrogates.values(), strict=True):
        predicted = surrogate.predict(unit)
        side = np.where(predicted >= target.value, target.high - target.value,
                        target.value - target.low)  # fmt: skip
        scale = np.sqrt(side**2 + surrogate.error(predicted) ** 2)
        gap = np.abs(predicted - target.value) / np.maximum(scale, 1e-300)
        worst = np.maximum(worst, np.where(np.isfinite(gap), gap, np.inf))
    return worst
