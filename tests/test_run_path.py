"""One run path: every model is built by experiments.run, and every way to run one agrees."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import borderabm
from borderabm.apps.cli.main import app
from borderabm.experiments.interop import ema_model
from borderabm.experiments.run import RunSpec, build_model, run_one
from borderabm.experiments.store import ResultsStore
from borderabm.experiments.sweep import load_sweep, run_sweep
from borderabm.scenario import load_scenario, resolve_relative, resolve_scenario_path

PACKAGE = Path(borderabm.__file__).resolve().parent
# The model's own module, and the one place that builds a model for everyone else.
MAY_BUILD = {"model.py", "experiments/run.py"}
SEED, DAYS = 3, 10
runner = CliRunner()


def calls_to_border_model(source: str) -> list[int]:
    """Line numbers of ``BorderModel(...)`` and ``something.BorderModel(...)`` calls."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
        if name == "BorderModel":
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_direct_and_qualified_calls():
    source = "m = BorderModel(s)\nn = borderabm.model.BorderModel(s, world=w)\nBorderModel\n"
    assert calls_to_border_model(source) == [1, 2]


def test_only_the_run_module_builds_a_border_model():
    builders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = calls_to_border_model(path.read_text(encoding="utf-8"))
        if lines:
            builders[path.relative_to(PACKAGE).as_posix()] = lines
    assert set(builders) <= MAY_BUILD, builders
    assert "experiments/run.py" in builders  # the scan does see the one that may


def numbers_equal(left: dict, right: dict) -> bool:
    """Equal metric by metric; NaN equals NaN, and None (strict JSON's NaN) equals NaN."""

    def same(a, b) -> bool:
        missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (a, b)]
        return all(missing) if any(missing) else a == b

    return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)


@pytest.fixture(scope="module")
def reference():
    settings = load_scenario(
        resolve_scenario_path("baseline"), {"seed": SEED, "horizon_days": DAYS}
    )
    return run_one(settings)


def test_run_one_cli_json_and_a_sweep_row_give_identical_summaries(reference, tmp_path):
    summary = reference.summary
    assert reference.days == DAYS and len(reference.timeseries) == DAYS

    printed = runner.invoke(app, ["run", "baseline", "--seed", str(SEED), "--days", str(DAYS),
                                  "--json"])  # fmt: skip
    assert printed.exit_code == 0, printed.output
    record = json.loads(printed.stdout)
    assert (record["seed"], record["days"], record["agents"]) == (SEED, DAYS, reference.agents)
    assert numbers_equal(record["summary"], summary)

    sweep_file = tmp_path / "one.toml"
    sweep_file.write_text(f'scenarios = ["baseline"]\nreplicates = 1\nseed = {SEED}\n'
                          f"days = {DAYS}\n")  # fmt: skip
    store = ResultsStore(tmp_path / "store")
    assert run_sweep(load_sweep(sweep_file, resolve_relative), store, workers=1) == 1
    row = store.runs().iloc[0].to_dict()
    assert numbers_equal({name: row[name] for name in summary}, summary)
    assert (row["seed"], row["replicate"], row["point"]) == (SEED, 0, 0)


def test_a_run_spec_runs_the_same_as_its_scenario(reference):
    spec = RunSpec.of_scenario(reference.settings, 0, 0, {})
    again = run_one(spec)
    assert numbers_equal(again.summary, reference.summary)
    assert again.timeseries.equals(reference.timeseries)
    row = spec.row(again.summary)
    assert list(row)[:5] == ["run_id", "scenario", "point", "replicate", "seed"]


def test_the_ema_adapter_and_a_day_observer_give_the_same_run(reference):
    outcomes = ema_model(scenario="baseline", days=DAYS, seed=SEED)
    assert numbers_equal(outcomes, reference.summary)
    days_seen = []
    observed = run_one(reference.settings, on_day=lambda model: days_seen.append(model.day))
    assert days_seen == list(range(1, DAYS + 1))
    assert numbers_equal(observed.summary, reference.summary)


def test_models_built_for_one_map_share_its_world(reference):
    first, second = build_model(reference.settings), build_model(reference.settings)
    assert first.world is second.world and first.routes is second.routes
