"""The paired statistics of the validation suite: a one-sided test and an effect size per fact.

Replicate *k* of a fact's control and treatment share a seed (common random numbers), so each fact
yields *n* paired differences ``d_k = treatment_k - control_k`` of its metric.

**Test.** A one-sided Wilcoxon signed-rank test of the differences in the expected direction, at
95% confidence (``alpha = 0.05``). Why Wilcoxon rather than a paired t-test: the metrics are yearly
counts of rare events (attacks, deaths, closure cycles) and sums of skewed trade values, whose
differences need not be normal, and the suite also runs with few replicates (8 in CI), where the
t-test's normality assumption cannot be checked. The signed-rank test needs only that, with no
effect, differences are symmetric about zero; it is exact for up to 50 pairs without ties (scipy's
``method="auto"``). Zero differences are dropped (Wilcoxon's convention); a fact whose differences
are all zero has no effect and gets ``p = 1``. The smallest p-value it can give is ``2**-n``, so at
least five pairs are needed to reach ``p < 0.05``.

**Verdict.** A fact passes when ``p < alpha`` *and* the mean paired difference has the expected
sign (the two can disagree for very skewed differences; then the fact fails).

**Effect size.** The mean paired difference with its Student-t 95% interval (as in
``borderabm.analysis.compare``), and the relative change: the mean difference over the control's mean (not
defined when the control's mean is zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from borderabm.analysis.compare import interval

Direction = Literal["increase", "decrease"]
ALPHA = 0.05
MIN_PAIRS = 5  # 2**-5 = 0.031 is the smallest one-sided p-value five pairs can give


@dataclass(frozen=True)
class PairedEffect:
    """The outcome of one fact's paired comparison."""

    expected: Direction
    n: int
    control_mean: float
    treatment_mean: float
    diff_mean: float
    diff_low: float  # 95% interval of the mean paired difference
    diff_high: float
    relative_change: float | None  # diff_mean / |control_mean|; None when control_mean == 0
    p_value: float
    alpha: float = ALPHA

    @property
    def direction_ok(self) -> bool:
        """Whether the mean difference has the expected sign."""
        return self.diff_mean > 0 if self.expected == "increase" else self.diff_mean < 0

    @property
    def passed(self) -> bool:
        """Significant at ``alpha`` in the expected direction."""
        return self.p_value < self.alpha and self.direction_ok


def one_sided_wilcoxon(differences: Sequence[float], expected: Direction) -> float:
    """p-value of the one-sided Wilcoxon signed-rank test of ``differences`` (zeros dropped)."""
    data = np.asarray(differences, dtype=float)
    if data.size == 0 or not np.any(data != 0):
        return 1.0  # no pair moved: no evidence of an effect
    alternative = "greater" if expected == "increase" else "less"
    result = stats.wilcoxon(data, zero_method="wilcox", alternative=alternative)
    return float(result.pvalue)


def paired_effect(
    control: Sequence[float],
    treatment: Sequence[float],
    expected: Direction,
    alpha: float = ALPHA,
) -> PairedEffect:
    """Compare paired replicates: test, mean difference with its 95% interval, relative change.

    Args:
        control: The metric in each replicate of the control, in replicate order.
        treatment: The metric in the same replicates (same seeds) of the treatment.
        expected: The direction the fact predicts for treatment minus control.
        alpha: Significance level of the one-sided test.

    Raises:
        ValueError: If the two samples differ in length, are empty or hold non-finite values.
    """
    if expected not in ("increase", "decrease"):
        raise ValueError(f"expected must be 'increase' or 'decrease', got {expected!r}")
    a = np.asarray(control, dtype=float)
    b = np.asarray(treatment, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two paired samples of equal length, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("paired samples must be finite")
    differences = b - a
    spread = interval(differences)
    control_mean = float(a.mean())
    relative = spread.mean / abs(control_mean) if control_mean != 0 else None
    return PairedEffect(
        expected=expected,
        n=int(a.size),
        control_mean=control_mean,
        treatment_mean=float(b.mean()),
        diff_mean=spread.mean,
        diff_low=spread.low,
        diff_high=spread.high,
        relative_change=relative,
        p_value=one_sided_wilcoxon(differences, expected),
        alpha=alpha,
    )
