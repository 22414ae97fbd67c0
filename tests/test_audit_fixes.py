"""Fixes from the bad-input audit (docs: /work/notes/audit.md, items D3, D7, D8, D11, D12).

Each test fails without its fix: user text escaped in every report, bad options refused before
any run with the standard error line, messages that name what the user typed.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.report.format import markdown_cell, markdown_text, one_line
from tests.conftest import SCENARIOS
from tests.test_bad_input_cli import error_of, invoke  # the CLI tests' one clean error line

runner = CliRunner()
EVIL_NAME = "<script>alert(1)</script> **bold** | pipe \x1b[31mRED"


def evil_scenario(folder: Path) -> Path:
    """A copy of the baseline whose name holds HTML, Markdown, a pipe and an escape sequence."""
    text = (SCENARIOS / "baseline.toml").read_text()
    text = re.sub(r'^name = ".*"$', 'name = "<script>alert(1)</script> **bold** | pipe '
                  '\\\\u001b[31mRED"', text, count=1, flags=re.M)  # fmt: skip
    path = folder / "evil.toml"
    path.write_text(text)
    return path


# ---- D3: user text in reports ---------------------------------------------------------------------
def test_markdown_text_renders_as_typed():
    escaped = markdown_text(EVIL_NAME)
    assert "<script>" not in escaped and "**bold**" not in escaped and "\x1b" not in escaped
    assert escaped == r"\<script\>alert(1)\</script\> \*\*bold\*\* \| pipe \x1b\[31mRED"
    assert markdown_text("# title") == r"\# title"
    assert markdown_text("- item") == r"\- item" and markdown_text("1. item") == r"1\. item"
    assert markdown_text("`code` _x_ [a](b)") == r"\`code\` \_x\_ \[a\](b)"
    # A pipe already escaped for Markdown is not escaped again inside a table cell.
    assert markdown_cell(markdown_text("a|b")) == r"a\|b" and markdown_cell("a|b") == r"a\|b"
    assert one_line("\u202eabc\x9b") == r"\u202eabc\x9b"


def test_a_comparison_report_shows_user_text_as_plain_text(tmp_path):
    report = tmp_path / "report"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke("compare", "baseline", evil_scenario(tmp_path), "--days", 3,
                        "--replicates", 1, "--out", tmp_path / "runs", "--report", report)  # fmt: skip
    assert result.exit_code == 0, (result.exception, result.stderr)
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert not glyphs, glyphs  # chart labels show the escape byte as \x1b
    text_files = [p for p in report.rglob("*") if p.suffix in {".md", ".html", ".csv", ".json"}]
    assert {p.name for p in text_files} >= {"report.md", "index.html", "places.csv"}
    for path in text_files:
        assert b"\x1b" not in path.read_bytes(), path
    markdown = (report / "report.md").read_text()
    assert "<script>" not in markdown and "**bold**" not in markdown
    assert markdown.splitlines()[0] == (
        r"# Comparison: baseline vs \<script\>alert(1)\</script\> \*\*bold\*\* \| pipe "
        r"\x1b\[31mRED"
    )
    assert "<script>" not in (report / "index.html").read_text()
    assert r"pipe \x1b[31mRED" in (report / "places.csv").read_text()


def test_a_robust_report_shows_user_text_as_plain_text(tmp_path):
    report = tmp_path / "report"
    posterior = (
        Path(__file__).resolve().parents[1] / "borderabm/data/calibration/baseline_posterior.csv"
    )
    result = invoke("compare", "baseline", evil_scenario(tmp_path), "--uncertainty", posterior,
                    "--draws", 2, "--days", 3, "--replicates", 1, "--out", tmp_path / "runs",
                    "--report", report)  # fmt: skip
    assert result.exit_code == 0, (result.exception, result.stderr)
    for path in report.iterdir():
        if path.suffix in {".md", ".html", ".csv"}:
            assert b"\x1b" not in path.read_bytes(), path
    markdown = (report / "robust.md").read_text()
    assert "<script>" not in markdown and "**bold**" not in markdown
    assert markdown.startswith(r"# Robust comparison: baseline vs \<script\>alert(1)\</script\> ")


# ---- D8: map --out names the picture file itself ------------------------------------------------
@pytest.mark.parametrize("kind", ["folder", "text file", "folder named .png"])
def test_map_out_that_is_not_a_picture_path_is_refused_and_writes_nothing(tmp_path, kind):
    target = {"folder": tmp_path / "u", "text file": tmp_path / "afile",
              "folder named .png": tmp_path / "pics.png"}[kind]  # fmt: skip
    if kind == "text file":
        target.write_text("notes")
    else:
        target.mkdir()
    before = sorted(tmp_path.rglob("*"))
    line = error_of(invoke("map", "--out", target, "--resolution", "20"))
    what = "has no picture extension" if kind == "text file" else "is a folder"
    assert line.startswith(f"error: {target}: --out: {what} (allowed: a .png file path"), line
    assert sorted(tmp_path.rglob("*")) == before  # no sibling u.png / afile.png


# ---- D7: sensitivity --metric is checked before the sweep runs ----------------------------------
def morris_sweep(folder: Path) -> Path:
    baseline = str(SCENARIOS / "baseline.toml")
    path = folder / "mo.toml"
    path.write_text(f'name = "mo"\nscenarios = ["{baseline}"]\nreplicates = 1\nseed = 1\n'
                    'days = 2\nmetrics = ["attacks"]\n[design]\nkind = "morris"\nsamples = 2\n'
                    '[parameters."fence.coverage"]\nlow = 0.5\nhigh = 1.0\n')  # fmt: skip
    return path


def test_sensitivity_refuses_an_unknown_metric_before_any_run(tmp_path):
    out = tmp_path / "mo"
    line = error_of(invoke("sensitivity", morris_sweep(tmp_path), "--out", out, "--workers", 1,
                           "--metric", "attacks", "--metric", "nosuch"))  # fmt: skip
    assert "--metric: unknown metric 'nosuch' (allowed: " in line and "available" not in line
    allowed = line.split("(allowed: ")[1].rstrip(")").split(", ")
    assert {"attacks", "border_deaths", "policy_cost_usd"} <= set(allowed)
    assert "stranded_people" not in allowed  # a daily column, not a run's summary
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())


# ---- D11 items 1, 2, 11, 12 and D12: discover's messages ---------------------------------------
@pytest.fixture(scope="module")
def one_scenario_store(tmp_path_factory) -> Path:
    """A finished sweep of the baseline alone: 4 design points of 2 days."""
    folder = tmp_path_factory.mktemp("one_scenario")
    sweep = folder / "sw.toml"
    sweep.write_text(f'name = "one"\nscenarios = ["{SCENARIOS / "baseline.toml"}"]\n'
                     'replicates = 1\nseed = 1\ndays = 2\nmetrics = ["attacks"]\n'
                     '[design]\nkind = "lhs"\nsamples = 4\n'
                     '[parameters."fence.coverage"]\nlow = 0.5\nhigh = 1.0\n')  # fmt: skip
    result = invoke("sweep", sweep, "--out", folder / "store", "--workers", 1)
    assert result.exit_code == 0, result.stderr
    return folder / "store"


def test_discover_relative_to_the_only_scenario_says_so(one_scenario_store):
    for extra in ([], ["--scenario", "baseline"]):
        line = error_of(invoke("discover", one_scenario_store, "--metric", "attacks",
                               "--threshold", 1, "--relative-to", "baseline", *extra))  # fmt: skip
        assert "several" not in line and "(allowed: )" not in line, line
        assert "--relative-to: 'baseline' is the only scenario in the store" in line, line
        assert re.search(r"\(allowed: \S.*\)$", line), line


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_discover_refuses_a_threshold_that_is_not_finite(one_scenario_store, value):
    line = error_of(invoke("discover", one_scenario_store, "--metric", "attacks",
                           "--threshold", value))  # fmt: skip
    assert "--threshold: " in line and "is not a finite number (allowed: a finite number" in line


def test_discover_max_quasi_p_accepts_what_its_help_says(one_scenario_store):
    import typer.main

    command = typer.main.get_command(app).commands["discover"]  # type: ignore[attr-defined]
    option: Any = next(p for p in command.params if p.name == "max_quasi_p")
    assert (option.min, option.max) == (0.0, 1.0)  # the help's [0.0<=x<=1.0]
    result = invoke("discover", one_scenario_store, "--metric", "fence_share_mean",
                    "--threshold", 0.75, "--max-quasi-p", 0)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "max_quasi_p" not in result.stderr


def test_discover_settings_errors_name_the_options(one_scenario_store):
    line = error_of(invoke("discover", one_scenario_store, "--metric", "attacks", "--threshold",
                           1, "--peel-alpha", 2, "--min-mass", 0))  # fmt: skip
    assert "peel_alpha" not in line and "min_mass" not in line, line
    assert "--peel-alpha: 2 is out of range (allowed: above 0 and below 0.5)" in line
    assert "--min-mass: 0 is out of range (allowed: above 0, up to 1)" in line


# ---- D11 item 8: run --days names the option, like compare ---------------------------------------
@pytest.mark.parametrize(("option", "value", "words"), [
    ("--days", "0", "--days: Input should be greater than or equal to 1 (allowed: >= 1 and <= 36500)"),
    ("--days", "-3", "--days: Input should be greater than or equal to 1"),
    ("--days", "99999", "--days: Input should be less than or equal to 36500"),
    ("--seed", "-1", "--seed: Input should be greater than or equal to 0 (allowed: >= 0 and "),
])  # fmt: skip
def test_run_blames_the_option_not_the_file(option, value, words):
    line = error_of(invoke("run", "baseline", option, value))
    assert line.startswith(f"error: borderabm run: {words}"), line
    assert "horizon_days" not in line and ".toml" not in line


# ---- D11 items 3 and 4: a posterior table's header -------------------------------------------------
POSTERIOR = (
    Path(__file__).resolve().parents[1] / "borderabm/data/calibration/baseline_posterior.csv"
)


@pytest.mark.parametrize(("text", "expected"), [
    (POSTERIOR.read_text().splitlines()[0] + "\n",
     "the table has no rows, only its header (allowed: at least 2 rows, one per world)"),
    ("population.militants,population.militants\n100,120\n110,130\n",
     "population.militants: column given twice (allowed: each column once)"),
    ("population.militants,fence.coverage,population.militants,population.militants\n"
     "1,0.5,2,3\n4,0.6,5,6\n",
     "population.militants: column given 3 times (allowed: each column once)"),
])  # fmt: skip
def test_a_posterior_header_problem_is_named_before_any_run(tmp_path, text, expected):
    table = tmp_path / "posterior.csv"
    table.write_text(text)
    line = error_of(invoke("compare", "baseline", "no_fence", "--uncertainty", table, "--draws", 2,
                           "--days", 3, "--replicates", 1, "--out", tmp_path / "out"))  # fmt: skip
    assert line == f"error: {table}: {expected}", line
    assert ".1" not in line and "1 to 0" not in line
    assert not (tmp_path / "out" / "runs").exists() or not any(
        (tmp_path / "out" / "runs").iterdir()
    )


# ---- D11 item 5: an unknown shipped name is reported as typed, with the allowed names ---------------
def shipped(kind: str) -> str:
    folder = Path(__file__).resolve().parents[1] / "borderabm" / "data" / kind
    return ", ".join(sorted(p.stem for p in folder.glob("*.toml")))


@pytest.mark.parametrize(("args", "kind", "words"), [
    (["compare", "baseline", "no_fence", "nosuch"], "scenarios", "a scenario file or a shipped scenario"),
    (["run", "nosuch"], "scenarios", "a scenario file or a shipped scenario"),
    (["sweep", "nosuch"], "sweeps", "a sweep file or a shipped sweep"),
    (["calibrate", "nosuch"], "calibration", "a calibration spec file or a shipped calibration spec"),
])  # fmt: skip
def test_an_unknown_name_is_named_as_typed_with_the_shipped_names(args, kind, words):
    line = error_of(invoke(*args))
    assert line == f"error: nosuch: not {words} (allowed: {shipped(kind)})", line
    assert "data/" not in line


def test_a_missing_path_typed_as_a_path_is_still_no_such_file(tmp_path):
    missing = tmp_path / "nosuch.toml"
    assert error_of(invoke("run", missing)) == f"error: {missing}: no such file"


# ---- D11 item 7: results --csv under a file ---------------------------------------------------------
def test_results_csv_under_a_file_says_the_parent_is_a_file(one_scenario_store, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("notes")
    for csv in (afile / "x.csv", afile / "sub" / "x.csv"):
        line = error_of(invoke("results", one_scenario_store, "--metric", "attacks", "--csv", csv))
        assert line == f"error: {csv}: cannot write: {afile} is a file, not a folder", line
    assert afile.read_text() == "notes"


def test_a_discovery_report_shows_the_sweep_name_as_plain_text(tmp_path):
    sweep = tmp_path / "sw.toml"
    sweep.write_text('name = "<b>x</b> *y* \\u001b[31m"\n'
                     f'scenarios = ["{SCENARIOS / "baseline.toml"}"]\n'
                     'replicates = 1\nseed = 1\ndays = 2\nmetrics = ["attacks"]\n'
                     '[design]\nkind = "lhs"\nsamples = 4\n'
                     '[parameters."fence.coverage"]\nlow = 0.5\nhigh = 1.0\n')  # fmt: skip
    store, out = tmp_path / "store", tmp_path / "found"
    assert invoke("sweep", sweep, "--out", store, "--workers", 1).exit_code == 0
    result = invoke("discover", store, "--metric", "fence_share_mean", "--threshold", 0.75,
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for path in out.iterdir():
        if path.suffix in {".md", ".csv"}:
            assert b"\x1b" not in path.read_bytes(), path
    first = (out / "discovery.md").read_text().splitlines()[0]
    assert first == r"# Scenario discovery: \<b\>x\</b\> \*y\* \x1b\[31m", first
