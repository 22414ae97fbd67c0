"""The Stackelberg security game solver: equilibrium properties, brute force, edge cases, errors."""

import dataclasses
import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderabm.rules.stackelberg import StackelbergSolution, stackelberg_coverage

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utilities(game, coverage):
    """Attacker's and defender's expected utility on every target under a coverage vector."""
    ra, pa, rd, pd = (np.asarray(x, dtype=float) for x in game)
    c = np.asarray(coverage, dtype=float)
    return c * pa + (1 - c) * ra, c * rd + (1 - c) * pd


def solve(game, resources):
    return stackelberg_coverage(*game, resources)


def random_game(rng, n, scale=10.0):
    ra = rng.uniform(-scale, scale, n)
    pa = ra - rng.uniform(0.05 * scale, scale, n)
    rd = rng.uniform(-scale, scale, n)
    pd = rd - rng.uniform(0.05 * scale, scale, n)
    return ra, pa, rd, pd


@st.composite
def games(draw, min_n=1, max_n=6, quarters=False):
    """Random games with payoffs in [-10, 10] and penalty gaps of at least 0.01.

    With ``quarters`` every payoff is a multiple of 0.25: exact ties between targets become
    common, while attacker utilities that are not tied differ by far more than rounding error.
    """
    n = draw(st.integers(min_n, max_n))
    if quarters:
        value = st.integers(-40, 40).map(lambda k: k / 4)
        gap = st.integers(1, 40).map(lambda k: k / 4)
    else:
        value = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
        gap = st.floats(0.01, 10, allow_nan=False, allow_infinity=False)
    ra = np.array(draw(st.lists(value, min_size=n, max_size=n)))
    pa = ra - np.array(draw(st.lists(gap, min_size=n, max_size=n)))
    rd = np.array(draw(st.lists(value, min_size=n, max_size=n)))
    pd = rd - np.array(draw(st.lists(gap, min_size=n, max_size=n)))
    resources = draw(st.floats(0, n + 1, allow_nan=False, allow_infinity=False))
    return (ra, pa, rd, pd), resources


def grid_bounds(game, resources, step):
    """Brute force over every coverage vector on a grid of the given step.

    Returns (lower, upper): ``lower`` is the best defender utility of any grid strategy (attacker
    best response, ties to the defender), so the equilibrium value can be no lower. ``upper``
    bounds the equilibrium value from above: rounding the equilibrium coverage up to the grid on
    the other targets, and down by ``n`` steps on the attacked one, gives a grid strategy within
    budget where the attacked target is still a best response, so the equilibrium is at most
    ``lower + n * step * max(gain)``; if the attacked target's coverage is below ``n`` steps the
    equilibrium is at most ``max(penalty + n * step * gain)``.
    """
    ra, pa, rd, pd = (np.asarray(x, dtype=float) for x in game)
    n = ra.size
    levels = np.round(np.arange(0.0, 1.0 + step / 2, step), 12)
    grid = np.array(list(itertools.product(levels, repeat=n)))
    grid = grid[grid.sum(axis=1) <= resources + 1e-12]
    ua = grid * pa + (1 - grid) * ra
    ud = grid * rd + (1 - grid) * pd
    best_response = ua >= ua.max(axis=1, keepdims=True) - 1e-12
    lower = float(np.where(best_response, ud, -np.inf).max(axis=1).max())
    gain = rd - pd
    upper = max(lower + n * step * float(gain.max()), float((pd + n * step * gain).max()))
    return lower, upper


# Equilibrium properties ------------------------------------------------------------------------
@PROPS
@given(st.one_of(games(), games(quarters=True)))
def test_coverage_is_feasible(case):
    game, resources = case
    solution = solve(game, resources)
    assert isinstance(solution, StackelbergSolution)
    assert solution.coverage.shape == (len(game[0]),)
    assert np.all(solution.coverage >= 0.0)
    assert np.all(solution.coverage <= 1.0)
    assert solution.coverage.sum() <= resources + 1e-9


@PROPS
@given(st.one_of(games(), games(quarters=True)))
def test_attacked_target_is_attacker_best_response(case):
    game, resources = case
    solution = solve(game, resources)
    ua, _ = utilities(game, solution.coverage)
    assert ua[solution.attacked] >= ua.max() - 1e-7


@PROPS
@given(games(quarters=True))
def test_ties_are_broken_in_defenders_favour(case):
    game, resources = case
    solution = solve(game, resources)
    ua, ud = utilities(game, solution.coverage)
    tied = ua >= ua[solution.attacked] - 1e-9
    assert ud[tied].max() <= ud[solution.attacked] + 1e-7


@PROPS
@given(games())
def test_reported_utilities_match_the_coverage(case):
    game, resources = case
    solution = solve(game, resources)
    ua, ud = utilities(game, solution.coverage)
    assert solution.attacker_utility == pytest.approx(ua[solution.attacked], abs=1e-12)
    assert solution.defender_utility == pytest.approx(ud[solution.attacked], abs=1e-12)


@PROPS
@given(games(), st.floats(0, 3, allow_nan=False))
def test_more_resources_never_hurt_the_defender(case, extra):
    game, resources = case
    assert (
        solve(game, resources + extra).defender_utility
        >= solve(game, resources).defender_utility - 1e-9
    )


# Brute force -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "step"), [(2, 0.002), (3, 0.01)])
@pytest.mark.parametrize("seed", range(12))
def test_matches_grid_search(n, step, seed):
    rng = np.random.default_rng(1000 * n + seed)
    game = random_game(rng, n)
    resources = float(rng.uniform(0.2, n - 0.2))
    lower, upper = grid_bounds(game, resources, step)
    value = solve(game, resources).defender_utility
    assert value >= lower - 1e-9
    assert value <= upper + 1e-9


def test_grid_upper_bound_is_tight_enough_to_catch_an_unconstrained_defender():
    # The bound must be able to fail: ignoring the attacker's best response would promise the
    # defender her reward on target 0 with full coverage, far above what any strategy achieves.
    game = (
        np.array([10.0, 9.0]),
        np.array([0.0, 0.0]),
        np.array([5.0, 0.0]),
        np.array([-5.0, -5.0]),
    )
    lower, upper = grid_bounds(game, 1.0, 0.002)
    assert upper < 5.0 * 1.0 + (-5.0) * 0.0 - 1.0
    assert lower <= solve(game, 1.0).defender_utility <= upper


# Known answers and edge cases ------------------------------------------------------------------
@pytest.mark.parametrize(("n", "resources"), [(2, 0.5), (3, 1.0), (3, 2.5), (7, 2.0), (50, 13.7)])
def test_symmetric_targets_share_coverage_equally(n, resources):
    game = (np.full(n, 4.0), np.full(n, -2.0), np.full(n, 1.0), np.full(n, -3.0))
    solution = solve(game, resources)
    np.testing.assert_allclose(solution.coverage, resources / n, atol=1e-9)
    assert solution.coverage.sum() == pytest.approx(resources, abs=1e-9)
    assert solution.attacked == 0  # ties go to the lowest index, deterministically


def test_two_target_closed_form():
    # Attacker indifferent: 10 (1 - c0) = 5 (1 - c1) with c0 + c1 = 1  =>  c = (2/3, 1/3).
    solution = solve(([10.0, 5.0], [0.0, 0.0], [1.0, 1.0], [-1.0, -1.0]), 1.0)
    np.testing.assert_allclose(solution.coverage, [2 / 3, 1 / 3], atol=1e-12)
    assert solution.attacked == 0
    assert solution.defender_utility == pytest.approx(1 / 3, abs=1e-12)
    assert solution.attacker_utility == pytest.approx(10 / 3, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("extra", [0.0, 0.5, 7.0])
def test_enough_resources_cover_everything_when_full_cover_is_optimal(seed, extra):
    # With equal defender rewards full coverage earns the best payoff the defender can get.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    ra, pa, _, _ = random_game(rng, n)
    game = (ra, pa, np.full(n, 2.0), np.full(n, -6.0))
    solution = solve(game, n + extra)
    np.testing.assert_array_equal(solution.coverage, np.ones(n))
    assert solution.defender_utility == 2.0


def test_enough_resources_can_still_leave_a_lure_open():
    # Meeting an attack on target 0 is worth 100 to the defender, on target 1 nothing. Under full
    # coverage the attacker prefers target 1 (penalty 1 > 0) and the defender gets 0; leaving
    # target 0 open 20% of the time draws the attack there and earns 0.8 * 100 - 0.2 = 79.8.
    game = ([5.0, 5.0], [0.0, 1.0], [100.0, 0.0], [-1.0, -1.0])
    solution = solve(game, 2.0)
    np.testing.assert_allclose(solution.coverage, [0.8, 1.0], atol=1e-12)
    assert solution.attacked == 0
    assert solution.defender_utility == pytest.approx(79.8, abs=1e-9)
    ua, ud = utilities(game, np.ones(2))
    full_cover_value = ud[ua == ua.max()].max()
    assert solution.defender_utility > full_cover_value + 50


@pytest.mark.parametrize("seed", range(10))
def test_no_resources_means_no_coverage(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    game = random_game(rng, n)
    solution = solve(game, 0)
    np.testing.assert_array_equal(solution.coverage, np.zeros(n))
    assert solution.attacked == int(np.argmax(game[0]))
    assert solution.defender_utility == game[3][solution.attacked]


def test_no_resources_ties_go_to_the_defender():
    solution = solve(([3.0, 5.0, 5.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [-9.0, -4.0, -2.0]), 0.0)
    assert solution.attacked == 2
    assert solution.defender_utility == -2.0


@pytest.mark.parametrize(("resources", "expected"), [(0.0, 0.0), (0.3, 0.3), (1.0, 1.0), (4, 1.0)])
def test_single_target(resources, expected):
    solution = solve(([2.0], [-1.0], [3.0], [-5.0]), resources)
    assert solution.coverage.tolist() == [expected]
    assert solution.attacked == 0
    assert solution.defender_utility == pytest.approx(expected * 3.0 - (1 - expected) * 5.0)


def test_identical_targets_are_deterministic():
    game = (np.full(6, 1.0), np.full(6, 0.0), np.full(6, 1.0), np.full(6, 0.0))
    first, second = solve(game, 2.0), solve(game, 2.0)
    np.testing.assert_array_equal(first.coverage, second.coverage)
    np.testing.assert_allclose(first.coverage, 1 / 3, atol=1e-12)
    assert first.attacked == second.attacked == 0


# Comparative statics ---------------------------------------------------------------------------
def test_more_valuable_target_gets_more_coverage():
    solution = solve(([8.0, 4.0], [0.0, 0.0], [1.0, 1.0], [-5.0, -5.0]), 1.0)
    assert solution.coverage[0] > solution.coverage[1] + 0.1


@pytest.mark.parametrize("seed", range(20))
def test_coverage_rises_with_attacker_reward_when_defender_payoffs_are_equal(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    ra = rng.permutation(np.linspace(1.0, 20.0, n))
    game = (ra, np.full(n, -1.0), np.full(n, 3.0), np.full(n, -3.0))
    resources = float(rng.uniform(0.5, n - 0.5))
    coverage = solve(game, resources).coverage
    by_value = coverage[np.argsort(ra)]
    assert np.all(np.diff(by_value) >= -1e-12)
    assert by_value[-1] > by_value[-2]  # the top target is strictly better guarded


@pytest.mark.parametrize("seed", range(10))
def test_invariant_to_affine_rescaling_of_payoffs(seed):
    rng = np.random.default_rng(seed)
    n = 6
    ra, pa, rd, pd = random_game(rng, n)
    resources = float(rng.uniform(0.5, n - 0.5))
    base = solve((ra, pa, rd, pd), resources)
    scaled = solve((1e3 * ra + 7, 1e3 * pa + 7, 0.01 * rd - 2, 0.01 * pd - 2), resources)
    np.testing.assert_allclose(scaled.coverage, base.coverage, atol=1e-9)
    assert scaled.attacked == base.attacked
    assert scaled.defender_utility == pytest.approx(0.01 * base.defender_utility - 2, abs=1e-9)


# Performance and result type -------------------------------------------------------------------
@pytest.mark.parametrize("symmetric", [False, True])
def test_fifty_targets_solve_fast(symmetric):
    # Symmetric games are the worst case: no candidate can be pruned, so all 50 LPs are solved.
    n = 50
    symmetric_game = (np.full(n, 5.0), np.zeros(n), np.ones(n), -np.ones(n))
    game = symmetric_game if symmetric else random_game(np.random.default_rng(50), n)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        solve(game, 12.5)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.5


def test_solution_is_immutable():
    solution = solve(([2.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]), 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.attacked = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        solution.coverage[0] = 0.5


# Input validation ------------------------------------------------------------------------------
GOOD = ([3.0, 2.0], [0.0, 1.0], [1.0, 2.0], [-1.0, 0.0])


def with_arg(index, value):
    args = list(GOOD)
    args[index] = value
    return args


@pytest.mark.parametrize(
    ("args", "resources", "match"),
    [
        (with_arg(0, [3.0, 2.0, 1.0]), 1.0, "equal shapes"),
        (with_arg(1, [[0.0, 1.0]]), 1.0, "1-D"),
        (with_arg(2, 1.0), 1.0, "1-D"),
        (([], [], [], []), 1.0, "at least one target"),
        (with_arg(0, [np.nan, 2.0]), 1.0, "finite"),
        (with_arg(3, [-np.inf, 0.0]), 1.0, "finite"),
        (with_arg(1, ["a", 1.0]), 1.0, "numbers"),
        (with_arg(1, [3.0, 1.0]), 1.0, "attacker_penalty must be strictly below"),
        (with_arg(3, [-1.0, 2.5]), 1.0, r"defender_penalty .* targets \[1\]"),
        (GOOD, -0.1, ">= 0"),
        (GOOD, float("nan"), "finite"),
        (GOOD, float("inf"), "finite"),
        (GOOD, "2", "real number"),
        (GOOD, True, "real number"),
    ],
)
def test_invalid_inputs_raise_value_error(args, resources, match):
    with pytest.raises(ValueError, match=match):
        stackelberg_coverage(*args, resources)
