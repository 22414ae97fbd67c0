"""Presentation in one layer: the formatting helpers, the chart style, the progress bar, the layers.

Analysis works on data frames (no console, no files, no charts); the report layer turns its results
into text and pictures with one set of helpers and one chart style; the command modules are thin.
"""

import ast
import io
import os
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from borderabm.metrics import format_value
from borderabm.report.format import (
    estimate_text,
    html_table,
    html_text,
    inline_markdown_html,
    markdown_cell,
    markdown_table,
    p_value,
    range_text,
    readable_number,
    short_number,
)
from tests.conftest import REPO

PACKAGE = REPO / "borderabm"


def modules(folder=PACKAGE):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def imported_modules(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


# Formatting -------------------------------------------------------------------------------------
def test_numbers_read_the_same_in_every_report():
    assert short_number(674_520_000) == "674.52M"
    assert short_number(2.05e9) == "2.05bn"
    assert short_number(1300) == "1.30k"
    assert short_number(12.46) == "12.5"
    assert short_number(-1930000, signed=True) == "-1.93M"
    assert short_number(981.07e3, signed=True) == "+981.07k"
    assert short_number(0.0, signed=True) == "0"
    assert short_number(0.98) == "0.980" and short_number(0.031, signed=True) == "+0.0310"
    assert readable_number(1234) == "1,234"
    assert readable_number(np.int64(250_000)) == "250.00k"
    assert readable_number(0.12345) == "0.123"
    assert readable_number(1234.5) == "1,234.5" and readable_number(1234.0) == "1,234"
    assert readable_number(142.5) == "142.5"  # a mean of two whole counts (UI audit D4)
    assert format_value("border_deaths", 142.5) == "142.5"
    assert format_value("border_deaths", 42.5) == "42.50"
    assert format_value("border_deaths", 142.0) == "142"
    assert readable_number(2.05e6) == "2.05M"
    assert readable_number(3e-12) == "0"
    assert readable_number(float("nan")) == "n/a" and readable_number(np.inf) == "n/a"
    assert readable_number(True) == "True" and readable_number(None) == "None"
    assert range_text(1, 2.5) == "1 – 2.5"
    assert estimate_text(5.5, 4.0, 6.0, short_number) == "5.50 [4 – 6]"


def test_p_values_have_one_format():
    assert [p_value(p) for p in (0.05, 0.0156, 0.00390625, 1.9e-6, 1.0, float("nan"))] == [
        "0.05", "0.0156", "0.0039", "1.9e-06", "1", "nan"
    ]  # fmt: skip


def test_markdown_tables_escape_their_cells_and_align_their_columns():
    table = markdown_table(["name", "value"], [["a|b", "1"], ["two\nlines", "2"]],
                           ["left", "right"])  # fmt: skip
    assert table.splitlines() == [
        "| name | value |",
        "|---|---:|",
        "| a\\|b | 1 |",
        "| two lines | 2 |",
    ]
    assert markdown_table(["a", "b"], []).splitlines()[1] == "|---|---|"
    assert markdown_cell(3) == "3"


def test_html_is_escaped_and_tables_carry_their_classes():
    assert html_text('<b>"x" & y</b>') == "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
    assert inline_markdown_html("**bold** *it* `code` <x>") == (
        "<b>bold</b> <i>it</i> <code>code</code> &lt;x&gt;"
    )
    table = html_table(["metric", "a"], [["m", "1<br>2"]], classes=[["", "PASS"]],
                       header_classes=["fact", ""], row_headers=True)  # fmt: skip
    assert '<th class="fact">metric</th><th>a</th>' in table
    assert '<tr><th scope="row">m</th><td class="PASS">1<br>2</td></tr>' in table
    assert table.startswith("<table><thead>") and table.endswith("</tbody></table>")


def test_each_report_formats_through_the_one_set_of_helpers():
    # The four reports once had their own copies of these.
    copies = {"_number", "_p_value", "format_p", "_markdown_table", "_md_inline", "_md_cell", "_e"}
    for path, tree in modules():
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not defined & copies, (path, defined & copies)
    for name in ("compare", "validation", "calibration", "discovery"):
        tree = ast.parse((PACKAGE / "report" / f"{name}.py").read_text())
        assert "borderabm.report.format" in imported_modules(tree), name


# Charts -----------------------------------------------------------------------------------------
def test_no_module_uses_pyplot_or_switches_the_backend():
    offenders = []
    for path, tree in modules():
        for name in imported_modules(tree):
            if name in ("matplotlib.pyplot", "pylab") or name.startswith("matplotlib.pyplot."):
                offenders.append(f"{path}: imports {name}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "use" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("matplotlib", "mpl")):  # fmt: skip
                offenders.append(f"{path}:{node.lineno}: calls matplotlib.use")
    assert offenders == []


def test_importing_and_drawing_reports_keeps_the_callers_backend(tmp_path):
    code = f"""
import matplotlib
matplotlib.use("svg")
import borderabm.report.compare, borderabm.report.worldmap, borderabm.report.raster
import borderabm.report.sensitivity, borderabm.report.discovery, borderabm.report.calibration
import borderabm.report.validation, borderabm.apps.cli.main
from borderabm.report import charts
figure, axes = charts.new_figure(2, 2)
axes[0, 0].plot([0, 1], [1, 0])
charts.save(figure, __import__("pathlib").Path({str(tmp_path / "x.png")!r}))
print(matplotlib.get_backend())
"""
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def comparison_runs() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for scenario, cost in (("baseline", 10e6), ("fence", 30e6), ("corridor", 12e6)):
        for seed in range(1, 6):
            rows.append({"scenario": scenario, "seed": seed, "run_id": f"{scenario}{seed}",
                         "policy_cost_usd": cost + rng.normal(0, 1e5),
                         "attacks": rng.poisson(5), "formal_trade_usd": rng.normal(5e8, 1e7),
                         "militant_crossings": rng.poisson(50)})  # fmt: skip
    return pd.DataFrame(rows)


def test_charts_drawn_in_parallel_threads_equal_charts_drawn_one_at_a_time(tmp_path):
    # The browser draws comparison charts from several sessions at once, without a lock.
    from borderabm.report.compare import cost_effect_chart

    runs = comparison_runs()
    alone = cost_effect_chart(runs, tmp_path / "alone.png").read_bytes()
    failures = []

    def draw(number: int) -> None:
        try:
            for repeat in range(3):
                path = cost_effect_chart(runs, tmp_path / f"t{number}-{repeat}.png")
                if path.read_bytes() != alone:
                    failures.append(path.name)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# The progress bar -------------------------------------------------------------------------------
def test_the_progress_bar_counts_runs_on_a_terminal_and_stays_silent_in_a_log():
    from borderabm.apps.cli.progress import RunProgress

    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=120)
    with RunProgress(console, "[/] sweep", total=5, completed=2) as progress:
        progress.advance()
        progress.advance({"run_id": "x"})
    shown = terminal.getvalue()
    assert "4/5" in shown and "[/] sweep" in shown and "runs/s" in shown  # the name as written
    log = io.StringIO()
    with RunProgress(Console(file=log, force_terminal=False), "sweep") as progress:
        progress.set_total(3)
        progress.advance()
    assert log.getvalue() == ""


# Layers -----------------------------------------------------------------------------------------
PRESENTATION = ("rich", "matplotlib", "borderabm.report", "borderabm.apps")
WRITERS = ("to_csv", "write_text", "write_bytes", "savefig", "atomic_write", "print")


def test_analysis_neither_prints_nor_writes_files_nor_draws():
    for path, tree in modules(PACKAGE / "analysis"):
        for name in imported_modules(tree):
            assert not name.startswith(PRESENTATION), f"{path} imports {name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else (
                    node.func.id if isinstance(node.func, ast.Name) else "")  # fmt: skip
                assert called not in WRITERS, f"{path}:{node.lineno} calls {called}"


def test_no_function_is_called_command_and_no_module_imports_another_ones_private_names():
    known: set[tuple[str, str]] = set()
    private = []
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.name != "command", f"{path}:{node.lineno}: name it after what it does"
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("borderabm"):
                private += [(path.name, a.name) for a in node.names
                            if a.name.startswith("_") and a.name != "__version__"]  # fmt: skip
    assert set(private) <= known, set(private) - known


@pytest.mark.parametrize("module", ["discover", "sensitivity", "calibrate", "validate"])
def test_command_modules_are_thin(module):
    # Parse, call the service, print the report: no statistics and no tables built by hand.
    tree = ast.parse((PACKAGE / "apps" / "cli" / f"{module}.py").read_text())
    imported = imported_modules(tree)
    assert not {"numpy", "pandas.api", "scipy", "matplotlib", "rich.table"} & imported
    assert any(name.startswith("borderabm.report.") for name in imported)
    assert len((PACKAGE / "apps" / "cli" / f"{module}.py").read_text().splitlines()) < 200


def test_a_discovery_made_from_data_frames_is_reported_without_a_store(tmp_path):
    # Analysis takes data frames: cases built in memory go through PRIM and into every output.
    from borderabm.analysis.discovery import Cases, Discovery
    from borderabm.analysis.prim import prim
    from borderabm.report.discovery import print_discovery, write_outputs

    rng = np.random.default_rng(5)
    x = pd.DataFrame({"fence.coverage": rng.random(300), "patrols.units": rng.integers(100, 1500, 300)
                      .astype(float)})  # fmt: skip
    outcome = pd.Series(
        np.where((x["fence.coverage"] > 0.6) & (x["patrols.units"] > 800), 1.0, 0.0)
    )
    cases = Cases(x=x, outcome=outcome, label="attacks (baseline)", unit="run",
                  scenario="baseline", reference=None, replicates=(1, 1),
                  ranges={"fence.coverage": (0.0, 1.0), "patrols.units": (100.0, 1500.0)},
                  sweep="in-memory", integers=("patrols.units",))  # fmt: skip
    found = Discovery(cases=cases, threshold=0.5, below=False,
                      result=prim(x, outcome.to_numpy() > 0.5, max_quasi_p=0.05))  # fmt: skip
    printed = io.StringIO()
    print_discovery(found, Console(file=printed, width=120))
    assert "in-memory: cases of interest: attacks (baseline) > 0.5" in printed.getvalue()
    assert "300 runs;" in printed.getvalue()
    written = write_outputs(found, tmp_path)
    assert [p.name for p in written] == ["boxes.csv", "trajectory.csv", "trajectory.png",
                                         "discovery.md"]  # fmt: skip
    report = (tmp_path / "discovery.md").read_text()
    assert "| `patrols.units` |" in report and "|---|---:|---:|---:|---:|---:|" in report
    low = pd.read_csv(tmp_path / "boxes.csv").set_index("parameter").loc["patrols.units", "low"]
    assert float(low).is_integer() and 700 < low < 900


def test_validation_effects_keep_small_differences_audit_shown_d2():
    """An effect of -0.02 read "-0.0 [-0.0, -0.0]" (one decimal); now three significant figures."""
    from borderabm.analysis.validation.facts import FACTS_BY_ID
    from borderabm.analysis.validation.stats import paired_effect
    from borderabm.analysis.validation.suite import FactResult, ValidationRun
    from borderabm.report.validation import table_rows

    fact = FACTS_BY_ID["fence_draws_breaches"]
    control = [0.98, 0.97, 0.99, 0.96, 0.98]
    treatment = [c - 0.02 for c in control]
    effect = paired_effect(control, treatment, fact.expected)
    result = FactResult(fact, 120, tuple(control), tuple(treatment), effect)
    [row] = table_rows(ValidationRun([result], 5, [1, 2, 3, 4, 5], {}, "", "", 0.0, 10, 10, 1))
    assert row["control"] == "0.976" and row["treatment"] == "0.956"
    assert row["effect [95% CI]"].startswith("-0.0200 [")
