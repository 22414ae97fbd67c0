"""The model keeps its daily values in one place (Mesa's data collector) and hides its own state.

Trigger rules, the summary and the apps read the daily values through :meth:`BorderModel.daily`,
and other layers read the model through its public attributes only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from tiny_world import tiny_world

import borderabm
from borderabm.experiments.interop import BatchBorderModel
from borderabm.model import BorderModel
from borderabm.scenario import validate_document
from borderabm.world.routes import build_routes

PACKAGE = Path(borderabm.__file__).parent
QUIET = {"traders": 0, "refugees": 0, "militants": 0}
DAYS = 13  # no count of the tiny world's agents, points, gates or sectors


@pytest.fixture(scope="module")
def places():
    world = tiny_world()
    return world, build_routes(world, use_cache=False)


def tiny_model(places, **document) -> BorderModel:
    base = {"name": "tiny", "horizon_days": 60, "population": dict(QUIET), "patrols": {"units": 0}}
    world, routes = places
    return BorderModel(validate_document({**base, **document}, "tiny.toml"), world=world,
                       routes=routes)  # fmt: skip


def attack_rule(threshold: float) -> dict:
    return {"name": "attack rule", "metric": "attacks", "window_days": 3, "threshold": threshold,
            "crossings": ["Torkham"], "duration_days": 4, "cooldown_days": 5}  # fmt: skip


# ------------------------------------------------------------------------------------------------
# No other module reads the model's private attributes
# ------------------------------------------------------------------------------------------------
def _reads_the_model(node: ast.expr) -> bool:
    """``model`` or ``self.model``."""
    if isinstance(node, ast.Name):
        return node.id == "model"
    return (isinstance(node, ast.Attribute) and node.attr == "model"
            and isinstance(node.value, ast.Name) and node.value.id == "self")  # fmt: skip


def private_reads(source: str) -> list[str]:
    """Every ``model._name`` and ``self.model._name`` in a module's source."""
    return [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and _reads_the_model(node.value)
    ]


def test_the_scan_finds_private_reads():
    source = "a = model._history\nb = self.model._x\nc = model.daily('x')\nd = other._y\n"
    assert private_reads(source) == ["line 1: model._history", "line 2: self.model._x"]


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(PACKAGE.rglob("*.py")) if p != PACKAGE / "model.py"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_module_outside_the_model_reads_its_private_attributes(path):
    assert private_reads(path.read_text()) == []


# ------------------------------------------------------------------------------------------------
# Daily values are stored once
# ------------------------------------------------------------------------------------------------
def _day_by_day(value, days: int) -> bool:
    """A list of one value per day, or a mapping holding such lists."""
    if isinstance(value, list | tuple):
        return len(value) == days
    if isinstance(value, dict):
        return any(isinstance(v, list | tuple) and len(v) == days for v in value.values())
    return False


def test_daily_values_are_kept_only_by_the_data_collector(places):
    model = tiny_model(places, population={"traders": 20, "refugees": 30, "militants": 5},
                       patrols={"units": 3}, triggers=[attack_rule(1)])  # fmt: skip
    model.run(DAYS)
    holders = [name for name, value in vars(model).items() if _day_by_day(value, DAYS)]
    for name, part in vars(model).items():  # and one level down (metrics, policy, populations)
        if hasattr(part, "__dict__"):
            holders += [f"{name}.{n}" for n, v in vars(part).items() if _day_by_day(v, DAYS)]
    # Besides the values, Mesa records the model time of each collection (its index, not a value).
    assert holders == ["datacollector.model_vars", "datacollector._collection_steps"]
    frame = model.timeseries()
    for name in ("attacks", "trigger_closures", "gates_closed_against_normal", "policy_cost_usd"):
        assert model.daily(name) == tuple(model.datacollector.model_vars[name])
        assert list(model.daily(name)) == frame[name].tolist()


def test_daily_is_a_copy_and_names_only_daily_series(places):
    model = tiny_model(places)
    assert model.daily("attacks") == ()
    model.run(2)
    values = model.daily("attacks")
    assert isinstance(values, tuple) and len(values) == 2
    with pytest.raises(KeyError):
        model.daily("no_such_series")


def test_trigger_rules_read_the_days_before_from_the_data_collector(places):
    model = tiny_model(places, triggers=[attack_rule(5)])
    model.run(2)  # no militants: no attacks, the rule is armed but quiet
    assert model.trigger_armed_from == (0,)
    model.datacollector.model_vars["attacks"][-1] = 10.0  # yesterday, as the collector holds it
    model.step()
    assert model.daily("trigger_closures")[-1] == 1
    # Fired on day 2: the gate closes on day 3 for 4 days, the rule re-arms 5 days after it reopens.
    assert model.trigger_armed_from == (2 + 1 + 4 + 5,)
    model.step()
    assert not model.gates.open[model.policy.gate_names.index("Torkham")]


def test_the_summary_comes_from_the_collected_series(places):
    model = tiny_model(places, patrols={"units": 3})
    model.run(5)
    model.datacollector.model_vars["policy_cost_usd"][0] += 1000.0
    model.datacollector.model_vars["gates_closed_against_normal"][1] = 2
    cost = list(model.daily("policy_cost_usd"))
    summary = model.summary()
    assert summary["crossing_closed_days"] == 2.0
    assert summary["policy_cost_usd"] == np.sum(cost[:1]) + cost[1] + cost[2] + cost[3] + cost[4]


def test_batch_model_triggers_fire_as_the_plain_model_does():
    # BatchBorderModel's collector names its daily columns "daily.<name>"; the rules still read them.
    overrides = {"triggers": [{**attack_rule(0), "crossings": ["all"], "window_days": 1}]}
    batch = BatchBorderModel("baseline", days=25, seed=4, **overrides)
    plain = BorderModel(batch.settings, world=batch.world, routes=batch.routes)
    batch.run()
    plain.run()
    assert sum(plain.daily("trigger_closures")) >= 1
    assert batch.daily("trigger_closures") == plain.daily("trigger_closures")
    assert batch.trigger_armed_from == plain.trigger_armed_from
    assert batch.summary() == plain.summary()
