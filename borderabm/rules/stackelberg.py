"""Stackelberg security game: how a border force should randomise patrols over crossing points.

The defender (the border force) commits to a *coverage* vector ``c``: ``c[t]`` is the probability
that target ``t`` (an informal crossing point or a sector) is patrolled, with ``0 <= c[t] <= 1``
and ``sum(c) <= resources`` (the expected number of targets that can be covered at once). The
attacker (a militant organisation) observes ``c`` and attacks the target with the best expected
utility for itself::

    U_a(t) = c[t] * attacker_penalty[t] + (1 - c[t]) * attacker_reward[t]
    U_d(t) = c[t] * defender_reward[t] + (1 - c[t]) * defender_penalty[t]

Ties between the attacker's best responses are broken in the defender's favour, which makes the
solution a *strong Stackelberg equilibrium* (SSE).

The SSE is computed with the "multiple LPs" method of Conitzer & Sandholm (2006): for each
candidate target ``t``, one linear programme maximises ``U_d(t)`` subject to ``t`` being a best
response of the attacker; the best feasible candidate wins. In a security game the LP for ``t``
reduces to "maximise ``c[t]``" because ``U_d(t)`` rises with ``c[t]`` and no other coverage enters
the objective. Candidates are visited in order of a trivial upper bound on their value and the
search stops as soon as no remaining candidate can beat the best found, so most LPs are never
solved.

Each LP answer (HiGHS, tolerances about 1e-7) is then refined exactly: for a fixed attacked target
the LP is equivalent to finding the lowest attacker utility level ``u`` for which the coverage
needed to hold every other target at or below ``u`` fits the budget (the one-dimensional view
behind ORIGAMI, Kiekintveld et al. 2009). That problem is piecewise linear and is solved in closed
form, so the returned coverage satisfies the best-response and budget constraints to rounding
error, not merely to solver tolerance.

Coverage left over once the attacked target is held at its optimum (it happens only when some
targets are capped at full coverage) is spread over the other targets in proportion to their
uncovered share. That only lowers the attacker's utility elsewhere, so the equilibrium target and
both utilities are unchanged, and the attacker's preference for the equilibrium target becomes
strict wherever it can.

Note that ``resources >= n`` does not always mean full coverage: when the defender gains much more
from meeting an attack on one target than on the others, leaving that target partly open can lure
the attacker there, and the SSE does so. Full coverage is returned whenever it is optimal (for
instance when all defender rewards are equal).

References:
    V. Conitzer and T. Sandholm (2006). "Computing the optimal strategy to commit to".
    Proceedings of the 7th ACM Conference on Electronic Commerce (EC'06), pp. 82-90.

    C. Kiekintveld, M. Jain, J. Tsai, J. Pita, F. Ordonez and M. Tambe (2009). "Computing optimal
    randomized resource allocations for massive security games". Proceedings of the 8th
    International Conference on Autonomous Agents and Multiagent Systems (AAMAS'09), pp. 689-696.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.optimize import linprog

__all__ = ["StackelbergSolution", "stackelberg_coverage"]

# Relative tolerance under which two candidate defender utilities count as tied (the lower target
# index then wins, which keeps the answer deterministic for symmetric games).
_TIE_RTOL = 1e-9
# Relative slack allowed when the exact refinement checks a candidate the LP called feasible.
_FEAS_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class StackelbergSolution:
    """A strong Stackelberg equilibrium of a security game.

    Attributes:
        coverage: Probability that each target is covered, shape ``(n,)``, read-only.
        attacked: Index of the target the attacker attacks (a best response to ``coverage``, the
            best one for the defender among ties).
        defender_utility: Defender's expected utility, ``U_d(attacked)`` under ``coverage``.
        attacker_utility: Attacker's expected utility, ``U_a(attacked)`` under ``coverage``.
    """

    coverage: np.ndarray
    attacked: int
    defender_utility: float
    attacker_utility: float


def stackelberg_coverage(
    attacker_reward: np.ndarray,
    attacker_penalty: np.ndarray,
    defender_reward: np.ndarray,
    defender_penalty: np.ndarray,
    resources: float,
) -> StackelbergSolution:
    """Solve a Stackelberg security game for the defender's optimal coverage (SSE).

    Uses the multiple-LPs method of Conitzer & Sandholm (2006), one ``scipy.optimize.linprog``
    (HiGHS) problem per candidate target, with bound-based pruning and an exact refinement of the
    winning LP solutions (see the module docstring and Kiekintveld et al. 2009).

    Args:
        attacker_reward: Attacker's utility if target ``t`` is attacked while uncovered, shape
            ``(n,)``.
        attacker_penalty: Attacker's utility if target ``t`` is attacked while covered; must be
            strictly below ``attacker_reward``.
        defender_reward: Defender's utility if the attack on ``t`` meets coverage.
        defender_penalty: Defender's utility if the attack on ``t`` is uncovered; must be strictly
            below ``defender_reward``.
        resources: Expected number of targets that can be covered at once, ``>= 0``. Values above
            ``n`` behave like ``n``.

    Returns:
        The equilibrium: coverage (``0 <= coverage <= 1``, ``sum(coverage) <= resources``), the
        attacked target and both players' expected utilities.

    Raises:
        ValueError: If the payoff arrays are not 1-D, not of equal non-zero length, not finite, if
            a penalty is not strictly below the matching reward, or if ``resources`` is not a
            finite number ``>= 0``.
    """
    ra, pa, rd, pd = _validate_payoffs(
        attacker_reward, attacker_penalty, defender_reward, defender_penalty
    )
    budget = _validate_resources(resources)
    n = ra.size
    delta_a = ra - pa  # attacker's loss from coverage, > 0
    delta_d = rd - pd  # defender's gain from coverage, > 0

    if budget == 0.0:
        return _finish(np.zeros(n), _zero_coverage_target(ra, pd), ra, pa, rd, pd)
    if n == 1:
        return _finish(np.array([min(1.0, budget)]), 0, ra, pa, rd, pd)

    # Upper bound on each candidate's value: full use of what coverage one target can get.
    upper = pd + delta_d * min(1.0, budget)
    # A target that beats no fully covered rival even when left open can never be attacked.
    top_two = np.sort(pa)[-2:]
    best_other_penalty = np.where(pa == top_two[1], top_two[0], top_two[1])
    possible = ra >= best_other_penalty

    d_scale = max(float(np.max(np.abs(np.concatenate([rd, pd])))), 1.0)
    tie_tol = _TIE_RTOL * d_scale
    best: tuple[int, np.ndarray, float] | None = None  # (target, coverage, defender utility)
    for t in np.argsort(-upper, kind="stable"):
        t = int(t)
        if best is not None and upper[t] < best[2] - tie_tol:
            break  # sorted by bound: nobody left can win (or tie)
        if not possible[t] or not _lp_feasible(t, ra, delta_a, budget):
            continue
        coverage = _exact_coverage(t, ra, pa, delta_a, budget)
        if coverage is None:
            continue  # feasible only within the LP tolerance
        value = float(pd[t] + coverage[t] * delta_d[t])
        if (
            best is None
            or value > best[2] + tie_tol
            or (value >= best[2] - tie_tol and t < best[0])
        ):
            best = (t, coverage, value)
    if best is None:  # pragma: no cover - the attacker always has some best response
        raise RuntimeError("no target can be an attacker best response; this is a bug")

    target, coverage, _ = best
    return _finish(_spread_leftover(coverage, target, budget), target, ra, pa, rd, pd)


def _validate_payoffs(*arrays: object) -> tuple[np.ndarray, ...]:
    """Check the four payoff vectors and return them as float arrays."""
    names = ("attacker_reward", "attacker_penalty", "defender_reward", "defender_penalty")
    out = []
    for name, raw in zip(names, arrays, strict=True):
        try:
            arr = np.array(raw, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be an array of numbers: {exc}") from None
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        out.append(arr)
    shapes = {arr.shape for arr in out}
    if len(shapes) != 1:
        listed = ", ".join(f"{name}{arr.shape}" for name, arr in zip(names, out, strict=True))
        raise ValueError(f"payoff arrays must have equal shapes, got {listed}")
    if out[0].size == 0:
        raise ValueError("the game needs at least one target (payoff arrays are empty)")
    ra, pa, rd, pd = out
    for who, reward, penalty in (("attacker", ra, pa), ("defender", rd, pd)):
        bad = np.flatnonzero(~(penalty < reward))
        if bad.size:
            raise ValueError(
                f"{who}_penalty must be strictly below {who}_reward for every target; "
                f"violated at targets {bad.tolist()}"
            )
    return ra, pa, rd, pd


def _validate_resources(resources: object) -> float:
    """Check the coverage budget and return it as a float."""
    if isinstance(resources, bool) or not isinstance(resources, Real):
        raise ValueError(f"resources must be a real number, got {resources!r}")
    budget = float(resources)
    if not math.isfinite(budget) or budget < 0.0:
        raise ValueError(f"resources must be finite and >= 0, got {resources!r}")
    return budget


def _zero_coverage_target(ra: np.ndarray, pd: np.ndarray) -> int:
    """Attacked target with no coverage: highest reward, ties to the defender's least loss."""
    tied = np.flatnonzero(ra == ra.max())
    return int(tied[np.argmax(pd[tied])])


def _lp_feasible(t: int, ra: np.ndarray, delta_a: np.ndarray, budget: float) -> bool:
    """Solve the Conitzer-Sandholm LP for target ``t``: max c[t] s.t. t is a best response.

    Rows (one per rival ``i``): ``U_a(i) <= U_a(t)``, i.e.
    ``delta_a[t] c[t] - delta_a[i] c[i] <= ra[t] - ra[i]``; plus ``sum(c) <= budget`` when binding.
    Attacker payoffs are rescaled (which leaves the attacker's preferences unchanged) so that the
    solver's absolute tolerances mean the same thing for any payoff units.

    Returns:
        Whether the LP is feasible; its optimum is recovered exactly by :func:`_exact_coverage`.
    """
    n = ra.size
    scale = max(float(np.ptp(ra)), float(delta_a.max()))
    da = delta_a / scale
    rivals = np.delete(np.arange(n), t)
    a_ub = np.zeros((n - 1, n))
    a_ub[np.arange(n - 1), rivals] = -da[rivals]
    a_ub[:, t] = da[t]
    b_ub = (ra[t] - ra[rivals]) / scale
    if budget < n:
        a_ub = np.vstack([a_ub, np.ones(n)])
        b_ub = np.append(b_ub, budget)
    objective = np.zeros(n)
    objective[t] = -1.0
    result = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(0.0, 1.0), method="highs")
    return result.status == 0


def _exact_coverage(
    t: int, ra: np.ndarray, pa: np.ndarray, delta_a: np.ndarray, budget: float
) -> np.ndarray | None:
    """Exact optimum of the LP for target ``t``, with minimal coverage on every other target.

    Holding the attacker's utility on ``t`` at level ``u`` costs
    ``S(u) = sum_i clip((ra[i] - u) / delta_a[i], 0, 1)`` coverage (``t`` itself included), which
    is continuous, piecewise linear and non-increasing in ``u``. Maximising ``c[t]`` is minimising
    ``u`` over ``[max(pa), ra[t]]`` subject to ``S(u) <= budget``.

    Returns:
        The coverage vector, or ``None`` if ``t`` cannot be a best response.
    """
    lo, hi = float(pa.max()), float(ra[t])
    slack = _FEAS_RTOL * max(abs(lo), abs(hi), float(delta_a.max()), 1.0)
    if lo > hi + slack:
        return None
    lo = min(lo, hi)

    def cost(levels: np.ndarray) -> np.ndarray:
        need = (ra[None, :] - levels[:, None]) / delta_a[None, :]
        return np.clip(need, 0.0, 1.0).sum(axis=1)

    if cost(np.array([hi]))[0] > budget + _FEAS_RTOL * max(budget, 1.0):
        return None
    knots = np.concatenate([[lo, hi], ra, pa])
    knots = np.unique(knots[(knots >= lo) & (knots <= hi)])  # sorted, S is linear between knots
    spent = cost(knots)
    k = int(np.argmax(spent <= budget)) if np.any(spent <= budget) else knots.size - 1
    if k == 0:
        level = float(knots[0])
    else:
        u0, u1, s0, s1 = knots[k - 1], knots[k], spent[k - 1], spent[k]
        frac = (s0 - budget) / (s0 - s1) if s0 > s1 else 1.0
        level = float(min(max(u0 + frac * (u1 - u0), u0), u1))
    coverage = np.clip((ra - level) / delta_a, 0.0, 1.0)
    coverage[t] = min(max((ra[t] - level) / delta_a[t], 0.0), 1.0)
    excess = coverage.sum() - budget
    if excess > 0.0:  # rounding only; uncovering t a hair keeps it a best response
        coverage[t] = max(coverage[t] - excess, 0.0)
    return coverage


def _spread_leftover(coverage: np.ndarray, target: int, budget: float) -> np.ndarray:
    """Give unused budget to the non-attacked targets, in proportion to their uncovered share."""
    coverage = coverage.copy()
    others = np.delete(np.arange(coverage.size), target)
    leftover = budget - coverage.sum()
    headroom = float((1.0 - coverage[others]).sum())
    if leftover > 0.0 and headroom > 0.0:
        share = min(1.0, leftover / headroom)
        coverage[others] = np.minimum(coverage[others] + share * (1.0 - coverage[others]), 1.0)
    return coverage


def _finish(
    coverage: np.ndarray,
    target: int,
    ra: np.ndarray,
    pa: np.ndarray,
    rd: np.ndarray,
    pd: np.ndarray,
) -> StackelbergSolution:
    """Package a solution, computing both utilities from the returned coverage itself."""
    coverage = np.asarray(coverage, dtype=float)
    coverage.setflags(write=False)
    c = float(coverage[target])
    return StackelbergSolution(
        coverage=coverage,
        attacked=int(target),
        defender_utility=float(c * rd[target] + (1.0 - c) * pd[target]),
        attacker_utility=float(c * pa[target] + (1.0 - c) * ra[target]),
    )
