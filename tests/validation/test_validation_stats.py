"""The paired statistics on inputs whose answers are known."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from borderabm.analysis.validation.stats import one_sided_wilcoxon, paired_effect
from borderabm.report.format import p_value


def test_eight_pairs_all_moving_the_expected_way_give_the_exact_smallest_p():
    control = [10.0, 12, 9, 11, 10, 13, 8, 10]
    treatment = [c + d for c, d in zip(control, [1, 2, 3, 4, 5, 6, 7, 8], strict=True)]
    effect = paired_effect(control, treatment, "increase")
    assert effect.p_value == pytest.approx(2.0**-8)  # exact null distribution: 1 of 256 sign sets
    assert effect.passed
    assert effect.diff_mean == pytest.approx(4.5)
    half = scipy_stats.t.ppf(0.975, 7) * np.std([1, 2, 3, 4, 5, 6, 7, 8], ddof=1) / np.sqrt(8)
    assert (effect.diff_low, effect.diff_high) == pytest.approx((4.5 - half, 4.5 + half))
    assert effect.relative_change == pytest.approx(4.5 / np.mean(control))
    # The same data tested the other way round: no evidence at all.
    against = paired_effect(control, treatment, "decrease")
    assert against.p_value == pytest.approx(1.0)
    assert not against.passed


def test_decrease_is_the_mirror_image_of_increase():
    control = [5.0, 6, 7, 8, 9, 10]
    treatment = [4.0, 4, 6, 5, 9.5, 7]
    down = paired_effect(control, treatment, "decrease")
    up = paired_effect(treatment, control, "increase")
    assert down.p_value == pytest.approx(up.p_value)
    assert down.diff_mean == pytest.approx(-up.diff_mean)
    assert down.passed and up.passed


def test_no_effect_fails():
    same = [3.0, 1, 4, 1, 5, 9]
    effect = paired_effect(same, same, "increase")
    assert effect.p_value == 1.0
    assert not effect.passed
    assert (effect.diff_low, effect.diff_high) == (0.0, 0.0)


def test_five_pairs_are_the_fewest_that_can_pass():
    assert one_sided_wilcoxon([1, 2, 3, 4], "increase") > 0.05
    assert one_sided_wilcoxon([1, 2, 3, 4, 5], "increase") == pytest.approx(1 / 32)


def test_a_significant_rank_test_with_the_mean_in_the_same_direction_passes():
    # Seven gains and one loss: the ranks and the mean both lean up.
    control = [100.0] * 8
    effect = paired_effect(control, [100.0 + d for d in [1, 2, 3, 4, 5, 6, 7, -4.5]], "increase")
    assert effect.p_value < 0.05 and effect.diff_mean > 0
    assert effect.passed


def test_a_significant_rank_test_against_the_mean_does_not_pass():
    # Nine small gains and one huge loss: the ranks lean up, the mean goes down.
    control = [100.0] * 10
    gains_and_a_loss = [1, 2, 3, 4, 5, 6, 7, 8, 9, -1000]
    skewed = paired_effect(control, [100.0 + d for d in gains_and_a_loss], "increase")
    assert skewed.p_value < 0.05
    assert skewed.diff_mean < 0
    assert not skewed.passed


def test_relative_change_is_undefined_from_zero():
    effect = paired_effect([0.0] * 5, [1.0, 2, 3, 4, 5], "increase")
    assert effect.relative_change is None
    assert effect.passed


def test_bad_samples_are_refused():
    with pytest.raises(ValueError):
        paired_effect([1.0, 2], [1.0], "increase")
    with pytest.raises(ValueError):
        paired_effect([], [], "increase")
    with pytest.raises(ValueError):
        paired_effect([1.0, float("nan")], [1.0, 2], "increase")
    with pytest.raises(ValueError):
        paired_effect([1.0], [2.0], "up")


def test_p_values_print_compactly():
    assert p_value(0.00390625) == "0.0039"
    assert p_value(1.9e-6) == "1.9e-06"
    assert p_value(1.0) == "1"
    assert p_value(0.5) == "0.5"


def _run_of(outcomes):
    """A ValidationRun of (fact id, passes?) without running the model."""
    from borderabm.analysis.validation.facts import FACTS_BY_ID
    from borderabm.analysis.validation.suite import FactResult, ValidationRun

    results = []
    for fact_id, passes in outcomes:
        control = [10.0, 11, 12, 13, 14]
        moved = [c + (1 if passes == (FACTS_BY_ID[fact_id].expected == "increase")
                      else -1) * k for k, c in enumerate(control, start=1)]  # fmt: skip
        effect = paired_effect(control, moved, FACTS_BY_ID[fact_id].expected)
        results.append(FactResult(FACTS_BY_ID[fact_id], 5, tuple(control), tuple(moved), effect))
    return ValidationRun(results, 5, [1, 2, 3, 4, 5], {}, "", "", 0.0, 10, 10, 1)


def test_the_headline_counts_stylized_facts_mechanism_checks_and_known_failures_apart():
    from borderabm.report.validation import headline

    run = _run_of([
        ("closure_raises_smuggling", True),  # stylized fact
        ("fence_draws_breaches", False),  # stylized fact
        ("closure_strands_people", True),  # mechanism check
        ("funnel_raises_border_deaths", False),  # known failure
    ])  # fmt: skip
    assert [r.passed for r in run.results] == [True, False, True, False]
    assert headline(run) == (
        "1 of 2 stylized facts pass; 1 of 1 mechanism checks pass; "
        "1 known failure (reported, not counted)"
    )
    assert not run.all_passed
