"""The command line stays a thin shell, and the pieces moved out of it do their job.

Every command parses, calls a service, builds its output with ``borderabm.report`` and prints;
tables are reshaped and stores checked below it, where they are tested on their own.
"""

import ast
import inspect
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import borderabm.apps.cli
from borderabm.apps.cli.main import app
from borderabm.experiments.store import ResultsStore, StoreError

CLI_DIR = Path(borderabm.apps.cli.__file__).parent
MAX_COMMAND_BODY_LINES = 25
# DataFrame operations that reshape or pick from a table: analysis or report work, not a shell's.
RESHAPING = {"iterrows", "itertuples", "groupby", "pivot", "pivot_table", "melt", "merge", "iloc",
             "loc", "columns", "sort_values", "apply", "agg", "stack", "unstack", "assign", "query"}  # fmt: skip


def body_lines(function) -> int:
    """Source lines of a function's body, from its first statement after the docstring."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1


def test_every_command_is_registered_in_the_order_help_lists_them():
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert names == ["run", "compare", "sweep", "sensitivity", "discover", "calibrate", "results",
                     "scenarios", "validate", "validate-model", "hindcast", "map", "ui"]  # fmt: skip


@pytest.mark.parametrize("command", app.registered_commands, ids=lambda c: c.callback.__name__)
def test_every_command_body_is_short(command):
    assert body_lines(command.callback) <= MAX_COMMAND_BODY_LINES


@pytest.mark.parametrize("module", sorted(CLI_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_command_module_reshapes_a_table(module):
    tree = ast.parse(module.read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} & RESHAPING
    assert not used, f"{module.name} reshapes tables ({', '.join(sorted(used))}): move it below"


def imported_modules(nodes) -> set[str]:
    """The top-level packages that ``import`` statements among ``nodes`` bring in."""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_command_module_imports_pandas_at_run_time():
    for module in CLI_DIR.glob("*.py"):
        tree = ast.parse(module.read_text())
        type_only = [
            inner
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in node.body
        ]
        run_time = [node for node in ast.walk(tree) if node not in type_only]
        assert "pandas" not in imported_modules(run_time), module.name


# analysis.results: what a results store holds ----------------------------------------------------
def test_finished_runs_names_a_folder_that_is_not_a_results_store(tmp_path):
    from borderabm.analysis.results import finished_runs

    with pytest.raises(StoreError, match=r"not a results directory \(no manifest.json\)"):
        finished_runs(ResultsStore(tmp_path / "nothing"))


def test_finished_runs_names_a_store_without_finished_runs(tmp_path):
    from borderabm.analysis.results import finished_runs

    store = ResultsStore(tmp_path / "empty")
    store.write_manifest({"sweep": {"name": "empty"}})
    with pytest.raises(StoreError, match=f"{store.root}: runs: no finished runs yet"):
        finished_runs(store)


def test_finished_runs_gives_the_stored_rows(tmp_path):
    from borderabm.analysis.results import finished_runs

    store = ResultsStore(tmp_path / "one")
    store.write_manifest({"sweep": {"name": "one"}})
    row = {"run_id": "a", "scenario": "baseline", "point": 0, "replicate": 1, "seed": 1,
           "attacks": 3.0}  # fmt: skip
    store.write_run("a", row, None, "baseline", 0)
    assert finished_runs(store)["attacks"].tolist() == [3.0]


def test_metric_names_leave_out_run_columns_and_parameters():
    from borderabm.analysis.results import summary_metric_names, unknown_metrics

    runs = pd.DataFrame(columns=["run_id", "scenario", "point", "replicate", "seed", "fence.coverage",
                                 "deaths", "attacks"])  # fmt: skip
    assert summary_metric_names(runs) == ["attacks", "deaths"]
    assert unknown_metrics(runs, ["deaths", "nope", "fence.x"]) == ["nope", "fence.x"]


def test_a_comparison_without_a_headline_metric_names_it(two_run_comparison):
    from borderabm.analysis.results import check_metrics_stored

    check_metrics_stored(two_run_comparison, ["attacks"])
    with pytest.raises(StoreError, match="lack the metrics deaths, costs .made by other model"):
        check_metrics_stored(two_run_comparison, ["attacks", "deaths", "costs"])


def test_a_comparison_without_series_says_so(two_run_comparison):
    from borderabm.analysis.results import stored_series

    with pytest.raises(StoreError, match=r"series: no daily series stored \(sweep with series"):
        stored_series(two_run_comparison)


@pytest.fixture
def two_run_comparison(tmp_path):
    from borderabm.analysis.compare import load_comparison

    store = ResultsStore(tmp_path / "two")
    store.write_manifest({"sweep": {"name": "two"}, "scenarios": {"a": {}, "b": {}}})
    for run_id, scenario in (("r1", "a"), ("r2", "b")):
        row = {"run_id": run_id, "scenario": scenario, "point": 0, "replicate": 1, "seed": 1,
               "attacks": 1.0}  # fmt: skip
        store.write_run(run_id, row, None, scenario, 0)
    return load_comparison(store)


# report.tables: what the commands print ---------------------------------------------------------
def rendered(table, width: int = 200) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text()


def test_summary_table_shows_labels_with_units():
    from borderabm.metrics import metric_label
    from borderabm.report.tables import summary_table

    record = {
        "scenario": "baseline",
        "seed": 7,
        "days": 30,
        "summary": {"attacks": 12, "note": "x"},
    }
    text = rendered(summary_table(record))
    assert "baseline — seed 7," in text and "30 days" in text  # the title wraps to the table
    assert metric_label("attacks") in text
    assert "note" in text and " x " in text


def test_comparison_table_marks_clear_differences_against_the_first_scenario():
    from borderabm.report.tables import comparison_table

    rows = [
        {"scenario": "base", "metric": "attacks", "mean": 10.0, "low": 8.0, "high": 12.0},
        {"scenario": "fence", "metric": "attacks", "mean": 5.0, "low": 4.0, "high": 6.0,
         "diff": -0.04, "diff_low": -0.06, "diff_high": -0.02, "clear": True},
    ]  # fmt: skip
    text = rendered(comparison_table(pd.DataFrame(rows), 3))
    assert "base vs fence — 3 replicates" in text
    assert "10 [8 – 12]" in text
    assert "Δ -0.0400*" in text  # not "-0.0": the difference keeps its digits (audit-shown D2)


def test_results_table_shows_parameters_and_intervals_and_needs_room_for_them():
    from borderabm.report.tables import results_table, results_table_width

    table = pd.DataFrame([{"scenario": "s", "point": 0, "replicates": 2, "fence.coverage": 0.25,
                           "attacks": 1500.0, "attacks_low": 1000.0, "attacks_high": 2000.0,
                           "fence_share_mean": 0.98, "fence_share_mean_low": 0.975,
                           "fence_share_mean_high": 0.985}])  # fmt: skip
    text = rendered(results_table(table, "my sweep"), width=results_table_width(table))
    assert "my sweep: mean [95% interval] per design point" in text
    assert "fence.coverage" in text and "0.25" in text
    assert "1,500 [1,000 – 2,000]" in text
    assert "0.980 [0.975 – 0.985]" in text  # a share was "1.0 [1.0 – 1.0]" (audit-shown D2)
    assert results_table_width(table) == 40 + 12 + 2 * 30
    assert results_table(pd.DataFrame(), "empty") is None


def test_scenarios_table_lists_invalid_files_with_their_problem(tmp_path):
    from borderabm.report.tables import scenarios_table

    (tmp_path / "good.toml").write_text('description = "a quiet year"\nhorizon_days = 9\n')
    (tmp_path / "bad.toml").write_text("[fence]\ncoverage = 'lots'\n")
    text = rendered(scenarios_table(tmp_path, sorted(tmp_path.glob("*.toml"))))
    assert "good" in text and "a quiet year" in text and " 9 " in text
    assert "invalid: fence.coverage" in text


# report.worldmap: the map's file name ----------------------------------------------------------
def test_picture_path_keeps_known_formats_and_refuses_others(tmp_path):
    from borderabm.report.worldmap import picture_path

    assert picture_path(Path("world.SVG")) == Path("world.SVG")
    with pytest.raises(ValueError, match=r"^has no picture extension \(allowed: a \.png file path"):
        picture_path(Path("out/world"))
    with pytest.raises(ValueError, match=r"^is a folder \(allowed: a \.png file path"):
        picture_path(tmp_path)
    with pytest.raises(ValueError, match=r"unknown picture format '\.txt' \(allowed: \.png, "):
        picture_path(Path("world.txt"))


def test_every_many_run_command_takes_the_same_engine_options():
    import typer.main

    from borderabm.apps.cli import app

    group = typer.main.get_command(app)
    seen = {}
    for name in ("sweep", "compare", "sensitivity", "calibrate", "validate-model", "hindcast"):
        params = {p.name: p for p in group.commands[name].params}
        seen[name] = tuple(params[option].help for option in ("workers", "dask"))
    assert len(set(seen.values())) == 1, seen
