"""Metric names are spelt once: in the registry (``borderabm.metrics``) and the rule that produces them.

Every other module writes ``MetricName.ATTACKS``, a shared selection (``HEADLINE_METRICS``, ...) or
``breakdown_column(MetricName.OPEN, gate)``, never ``"attacks"`` or ``f"open.{gate}"``: a renamed or
misspelt metric then fails at import, not as a silently empty column.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

import borderabm
from borderabm import metrics
from borderabm.metrics import (
    METRICS,
    SCALARS,
    MetricName,
    Tally,
    TriggerMetric,
    breakdown_column,
    metric_info,
)

PACKAGE = Path(borderabm.__file__).parent
# Where metric names may be string literals: the registry, and the rules that produce them (the
# model's state reporters such as ``gates_open`` and ``fence_share``, and the rules that count).
PRODUCERS = ("metrics.py", "model.py", "rules/")

# Non-metric uses of words that are also metric names: the word, why it is no metric there, and
# the modules (path prefixes under borderabm/) where it may appear. Keep this short.
NOT_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "days": (
        "the run's length as a setting: a run record field, a link, session and replay key, a "
        "sweep parameter, a lever and a table heading (the summary metric is MetricName.DAYS)",
        ("apps/", "report/tables.py", "experiments/run.py", "experiments/interop.py"),
    ),
    "open": (
        "a gate's status word ('open'/'closed'), a crossing's `open` setting and PRIM's "
        "'open' phase (the per-gate series is breakdown_column(MetricName.OPEN, gate))",
        ("scenario/schema.py", "report/raster.py", "report/discovery.py", "analysis/prim.py"),
    ),
}

# Every selection the registry shares, and what each is for (tested to name registry metrics).
SELECTIONS = (
    "HEADLINE_METRICS",
    "TRIGGER_METRICS",
    "BROWSER_CHART_METRICS",
    "BROWSER_LEVEL_METRICS",
    "BROWSER_TOTAL_METRICS",
    "BROWSER_RUNS_TABLE_METRICS",
    "REPORT_SERIES_METRICS",
    "REPORT_CUMULATIVE_METRICS",
    "REPORT_SECTOR_METRICS",
    "REPORT_EFFECT_METRICS",
)


def metric_literal(text: str) -> bool:
    """Whether a string constant spells a metric: its name, a breakdown column or its prefix."""
    base, dot, _ = text.partition(".")
    return text in METRICS or bool(dot and base in METRICS)


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes (prose may name metrics)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def metric_literals(source: str, module: str) -> list[tuple[str, int, str]]:
    """(module, line, text) of every metric name written as a string in ``source``.

    Args:
        source: The module's code.
        module: Its path under ``borderabm/`` (``apps/ui/app.py``), for the allow-list.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in skip or not metric_literal(node.value):
            continue
        exception = NOT_METRICS.get(node.value)
        if exception and module.startswith(exception[1]):
            continue
        found.append((module, node.lineno, node.value))
    return found


def scanned_modules(root: Path = PACKAGE) -> dict[str, str]:
    """Path under ``root`` to source, of every module but the registry and the producers."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        module = path.relative_to(root).as_posix()
        if not module.startswith(PRODUCERS):
            modules[module] = path.read_text(encoding="utf-8")
    return modules


def test_no_module_writes_a_metric_name_as_a_string():
    found = [hit for module, source in scanned_modules().items()
             for hit in metric_literals(source, module)]  # fmt: skip
    shown = "\n".join(f"borderabm/{module}:{line}: {text!r}" for module, line, text in found)
    assert not found, (
        "metric names written as strings (use borderabm.metrics.MetricName, a selection of the "
        f"registry or breakdown_column):\n{shown}"
    )


def test_the_allow_list_is_used_and_names_why():
    everything = {word: set() for word in NOT_METRICS}
    for module, source in scanned_modules().items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and node.value in NOT_METRICS:
                everything[node.value].add(module)
    for word, (why, prefixes) in NOT_METRICS.items():
        assert word in METRICS and why, word
        for prefix in prefixes:
            assert any(m.startswith(prefix) for m in everything[word]), f"stale: {word} {prefix}"


@pytest.mark.parametrize(
    ("source", "module", "flagged"),
    [
        ('HEADLINE = ("attacks", "border_deaths")', "analysis/compare.py", 2),
        ('column = "attacks.Balochistan"', "analysis/x.py", 1),
        ('column = f"open.{gate}"', "analysis/calibration/runs.py", 1),
        ('status = "open"', "report/raster.py", 0),  # the allow-list: a gate's status
        ('status = "open"', "analysis/compare.py", 1),  # ... only where it was named
        ('days = summary["days"]', "analysis/calibration/runs.py", 1),
        ('request = {"days": 30}', "apps/ui/compare_page.py", 0),
        ('"""open.<gate>: 1 when open."""\nlabel = "Attacks"', "report/x.py", 0),  # prose
    ],
)
def test_the_scan_finds_planted_names(source, module, flagged):
    assert len(metric_literals(source, module)) == flagged


def test_the_scan_skips_the_registry_and_the_producers():
    scanned = scanned_modules()
    assert "metrics.py" not in scanned and "model.py" not in scanned
    assert not any(module.startswith("rules/") for module in scanned)
    assert "apps/ui/app.py" in scanned and "scenario/schema.py" in scanned


def test_every_registry_metric_has_exactly_one_constant():
    assert [name.value for name in MetricName] == list(METRICS)
    assert all(METRICS[name].name == name for name in MetricName)


def test_tally_counters_reuse_the_metric_names():
    for tally in Tally:
        assert MetricName[tally.name].value == tally.value
    assert set(SCALARS) <= set(MetricName)


@pytest.mark.parametrize("selection", SELECTIONS)
def test_selections_name_registry_metrics_as_plain_strings(selection):
    names = getattr(metrics, selection)
    assert names
    for name in names:
        assert type(name) is str, name  # JSON, TOML and CSV keys: no enum objects
        assert name in METRICS, name


def test_trigger_metrics_are_daily_counters_the_schema_accepts_and_no_other():
    from borderabm.scenario import ScenarioError, load_scenario, shipped_scenarios_dir

    assert set(metrics.TRIGGER_METRICS) <= {tally.value for tally in Tally}
    baseline = shipped_scenarios_dir() / "baseline.toml"
    for name in metrics.TRIGGER_METRICS:
        trigger = {"metric": name, "threshold": 1.0}
        assert load_scenario(baseline, {"triggers": [trigger]}).triggers[0].metric == name
    with pytest.raises(ScenarioError, match="border_deaths"):  # the message lists the allowed
        load_scenario(baseline, {"triggers": [{"metric": "stranded_people"}]})
    assert get_args(TriggerMetric) == metrics.TRIGGER_METRICS


def test_breakdown_columns_are_built_once_and_read_back():
    column = breakdown_column(MetricName.ATTACKS, "Balochistan")
    assert column == "attacks.Balochistan" and type(column) is str
    assert metric_info(column).label == "Attacks — Balochistan"
    assert breakdown_column(MetricName.OPEN, "Torkham") == "open.Torkham"
