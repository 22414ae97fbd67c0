"""The issue-13 speed-ups compute what the code they replaced computed, to the last bit.

Each fast path is checked against the plain numpy expression it replaced, on inputs that include
the awkward cases (ties, keys out of order, negative values, nothing to do). The whole-model check
is ``tests/test_results_unchanged.py``.
"""

from __future__ import annotations

import pickle

import mesa
import numpy as np
import pytest
from tiny_world import tiny_world

from borderabm.model import BorderModel
from borderabm.rules.crossing import binomial_quantile
from borderabm.rules.gates import queue_order, serve_queues
from borderabm.rules.population import gumbel, rows_where
from borderabm.scenario import validate_document
from borderabm.world.routes import FOOT, VEHICLE, build_routes


@pytest.fixture(scope="module")
def places():
    world = tiny_world()
    return world, build_routes(world, use_cache=False)


def _random_queue(rng: np.random.Generator, case: int):
    n = int(rng.integers(1, 80))
    gate = rng.integers(0, int(rng.integers(1, 12)), n)
    day = rng.integers(0, int(rng.choice([2, 40, 9000])), n) + int(rng.integers(-5, 5000))
    if case % 3 == 0:  # agent ids of rows in row order (what the rules pass)
        key = np.sort(rng.choice(100_000, n, replace=False))
    elif case % 3 == 1:  # ties
        key = rng.integers(0, 4, n)
    else:  # distinct, out of order
        key = rng.permutation(n) - n // 2
    return gate, day, key


def test_queue_order_is_lexsort():
    rng = np.random.default_rng(13)
    for case in range(3000):
        gate, day, key = _random_queue(rng, case)
        expected = np.lexsort((key, day, gate))
        assert np.array_equal(queue_order(gate, day, key), expected), case


def test_serve_queues_serves_as_the_sorted_ranks_did():
    def reference(gate, day, capacity, key):  # the implementation before issue 13
        order = np.lexsort((key, day, gate))
        sorted_gate = gate[order]
        rank = np.arange(gate.size) - np.searchsorted(sorted_gate, sorted_gate, side="left")
        served = np.zeros(gate.size, dtype=bool)
        served[order] = rank < capacity[sorted_gate]
        return served

    rng = np.random.default_rng(7)
    for case in range(1000):
        gate, day, key = _random_queue(rng, case)
        capacity = rng.integers(0, 6, int(gate.max()) + 1)
        assert np.array_equal(
            serve_queues(gate, day, capacity, key), reference(gate, day, capacity, key)
        ), case


def test_gumbel_noise_is_the_formula_it_replaced():
    shape = (7, 300)
    fast = gumbel(np.random.default_rng(3), shape, 4.0)
    plain = -4.0 * np.log(-np.log(np.random.default_rng(3).random(shape).clip(1e-12, 1 - 1e-12)))
    assert np.array_equal(fast, plain)


def test_rows_where_is_flatnonzero():
    mask = np.random.default_rng(1).random(1000) < 0.3
    assert np.array_equal(rows_where(mask), np.flatnonzero(mask))
    assert np.array_equal(rows_where(mask.reshape(10, 100)), np.flatnonzero(mask))
    assert rows_where(np.zeros(0, dtype=bool)).size == 0


@pytest.mark.parametrize(("trials", "probability"), [(1, 0.3), (10, 0.05), (50, 0.9), (50, 0.0)])
def test_binomial_quantile_is_unchanged_by_its_cache(trials, probability):
    uniform = np.random.default_rng(5).random(500)
    first = binomial_quantile(uniform, trials, probability)
    again = binomial_quantile(uniform, trials, probability)  # from the cached cdf
    assert np.array_equal(first, again)
    if 0.0 < probability < 1.0:
        k = np.arange(trials)
        steps = np.log((trials - k) / (k + 1)) + np.log(probability) - np.log1p(-probability)
        log_pmf = trials * np.log1p(-probability) + np.concatenate(([0.0], np.cumsum(steps)))
        cdf = np.cumsum(np.exp(log_pmf))
        expected = np.minimum(np.searchsorted(cdf, uniform, side="right"), trials)
        assert np.array_equal(first, expected)


def test_route_sub_fields_are_the_fields_rows_and_read_only(places):
    _, routes = places
    for mode in (FOOT, VEHICLE):
        assert np.array_equal(routes.gate_hours(mode), routes.hours(mode)[routes.gates])
        assert np.array_equal(routes.informal_hours(mode), routes.hours(mode)[routes.informal])
        assert not routes.gate_hours(mode).flags.writeable
    assert np.array_equal(routes.informal, np.flatnonzero(routes.node_kind == 1))
    assert not routes.informal.flags.writeable
    # Derived arrays are not pickled with the network (the disk cache stores the fields only).
    restored = pickle.loads(pickle.dumps(routes))
    assert "_derived_cache" not in vars(restored)
    assert np.array_equal(restored.informal_hours(FOOT), routes.informal_hours(FOOT))


def test_daily_collection_equals_mesas_own(places):
    world, routes = places
    document = {
        "name": "tiny",
        "horizon_days": 60,
        "population": {"traders": 40, "refugees": 60, "militants": 40},
        "patrols": {"units": 3},
        "triggers": [{"name": "truck rule", "metric": "militant_crossings", "window_days": 3,
                      "threshold": 0, "crossings": ["Torkham"], "duration_days": 2,
                      "cooldown_days": 1}],
    }  # fmt: skip
    model = BorderModel(validate_document(document, "tiny.toml"), world=world, routes=routes)
    ours_collector = model.datacollector
    mesas = mesa.DataCollector(model_reporters=model._reporters())

    class Both:  # collects each day with both, at the moment the model collects
        def collect(self, m):
            ours_collector.collect(m)
            mesas.collect(m)

        def series(self, name):
            return ours_collector.series(name)

    model.datacollector = Both()
    model.run(20)
    assert sum(ours_collector.model_vars["trigger_closures"]) > 0  # a rule fired: triggers read
    ours = ours_collector.model_vars
    assert list(ours) == list(mesas.model_vars)
    for name, values in mesas.model_vars.items():
        assert ours[name] == values, name
        assert [type(v) for v in ours[name]] == [type(v) for v in values], name
    assert ours_collector._collection_steps == mesas._collection_steps
