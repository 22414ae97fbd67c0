"""Refactorings keep results: every shipped scenario, seeds 1–3, 365 days, equals the stored fixture.

The fixture (``tests/data/summaries_365d.json``) is rewritten only by a commit that changes behaviour
on purpose (``python tests/results_fixture.py``), which says so and reports the effect.
"""

from __future__ import annotations

import json
import math

import pytest
from results_fixture import FIXTURE, cases, key, summary_of

# Metrics allowed to differ in the last digits, because a named refactoring reordered a
# floating-point sum: metric -> relative tolerance. Empty: every metric must be identical.
REORDERED_SUMS: dict[str, float] = {}

STORED = json.loads(FIXTURE.read_text())


def test_fixture_covers_every_shipped_scenario_and_seed():
    assert sorted(STORED) == sorted(key(name, seed) for name, seed in cases())


@pytest.mark.parametrize(("name", "seed"), cases(), ids=[key(*case) for case in cases()])
def test_summary_identical_to_fixture(name, seed):
    expected = STORED[key(name, seed)]
    actual = summary_of(name, seed)
    assert sorted(actual) == sorted(expected), "the summary's metrics changed"
    differing = {}
    for metric, value in expected.items():
        got = actual[metric]
        if isinstance(value, float) and math.isnan(value) and math.isnan(got):
            continue
        tolerance = REORDERED_SUMS.get(metric, 0.0)
        if got != value and not math.isclose(got, value, rel_tol=tolerance, abs_tol=0.0):
            differing[metric] = (value, got)
    assert not differing, f"{name} seed {seed}: stored vs now {differing}"
