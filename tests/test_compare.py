"""Comparison statistics on known answers, and the compare command end to end."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.analysis.compare import compare_table, interval
from borderabm.apps.cli.main import app

runner = CliRunner()


def test_interval_matches_the_t_distribution():
    result = interval([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.3027: half-width 4.3027 / sqrt(3) = 2.4841
    assert result.mean == pytest.approx(2.0)
    assert result.high - result.mean == pytest.approx(2.4841, abs=1e-4)
    assert not result.clear  # the interval [-0.48, 4.48] includes zero
    assert interval([10.0, 11.0, 12.0]).clear
    assert not interval([-1.0, 1.0, 0.5, -0.5]).clear
    assert interval([5.0]).low == interval([5.0]).high == 5.0


def test_paired_differences_use_common_seeds():
    results = pd.DataFrame(
        {
            "scenario": ["a"] * 3 + ["b"] * 3,
            "seed": [1, 2, 3] * 2,
            # b = a + 10 on every seed, though seeds differ a lot: the paired interval is exact.
            "attacks": [100.0, 200.0, 300.0, 110.0, 210.0, 310.0],
        }
    )
    table = compare_table(results, metrics=["attacks"]).set_index("scenario")
    assert table.loc["b", "diff"] == pytest.approx(10.0)
    assert table.loc["b", "diff_low"] == pytest.approx(10.0)
    assert bool(table.loc["b", "clear"])
    assert pd.isna(table.loc["a", "diff"])


def test_compare_command_reports_every_scenario_and_metric(tmp_path):
    result = runner.invoke(
        app, ["compare", "baseline", "trade_corridor", "--replicates", "2", "--days", "15",
              "--json", "--out", str(tmp_path / "runs"), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["scenario"] for r in rows} == {"baseline", "trade_corridor"}
    corridor = [r for r in rows if r["scenario"] == "trade_corridor"]
    assert all("diff" in r and "clear" in r for r in corridor)
    assert {r["metric"] for r in rows} >= {"militant_crossings", "formal_trade_usd", "attacks"}


def test_compare_needs_two_scenarios_and_valid_files(tmp_path):
    assert runner.invoke(app, ["compare", "baseline"]).exit_code == 2
    assert runner.invoke(app, ["compare", "--sweep", str(tmp_path)]).exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[fence]\ncoverage = 2\n")
    result = runner.invoke(app, ["compare", "baseline", str(bad)])
    assert result.exit_code == 2
    assert "fence.coverage" in result.output


def test_compare_writes_a_report_with_charts(tmp_path):
    from PIL import Image

    report = tmp_path / "report"
    result = runner.invoke(
        app, ["compare", "fence_full", "trade_corridor", "--replicates", "3", "--days", "20",
              "--out", str(tmp_path / "runs"), "--report", str(report), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (report / "index.html").read_text()
    assert "fence_full" in page and "trade_corridor" in page and "paired difference" in page
    # people read labels with units, not code names
    assert "Militant crossings (fighters)" in page and "Formal trade (US$)" in page
    assert "formal_trade_usd" not in page
    markdown = (report / "report.md").read_text()
    assert markdown.startswith("# Comparison: fence_full vs trade_corridor")
    for chart in ("timeseries.png", "sectors.png", "cost_effect.png"):
        assert chart in page
        image = Image.open(report / chart)
        assert image.size[0] > 800 and len(image.convert("RGB").getcolors(1 << 20)) > 50


def test_compare_reads_an_existing_sweep(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(
        'name = "s"\nscenarios = ["baseline"]\nreplicates = 2\ndays = 15\n'
        '[parameters."fence.coverage"]\nlevels = [0.0, 1.0]\n'
    )
    out = tmp_path / "s"
    assert runner.invoke(app, ["sweep", str(sweep), "--out", str(out), "--workers", "1"]
                         ).exit_code == 0  # fmt: skip
    result = runner.invoke(app, ["compare", "--sweep", str(out), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["scenario"] for r in rows} == {"baseline@0", "baseline@1"}
    fenced = [r for r in rows if r["scenario"] == "baseline@1" and r["metric"] == "policy_cost_usd"]
    assert fenced[0]["diff"] > 0  # a full fence costs more than none


# One comparison loader ------------------------------------------------------------------------
TWO_POINTS = """
name = "two_points"
scenarios = ["trade_corridor", "baseline"]  # not in name order: the first is the reference
replicates = 2
days = 5

[parameters."fence.coverage"]
levels = [0.0, 1.0]
"""


@pytest.fixture(scope="module")
def two_point_store(tmp_path_factory):
    from borderabm.experiments.store import ResultsStore
    from borderabm.experiments.sweep import load_sweep, run_sweep
    from borderabm.scenario import resolve_relative

    folder = tmp_path_factory.mktemp("two-points")
    (folder / "two_points.toml").write_text(TWO_POINTS)
    store = ResultsStore(folder / "two_points")
    run_sweep(load_sweep(folder / "two_points.toml", resolve_relative), store, workers=1)
    # One run of one design point is missing (a sweep stopped early): 1 replicate for that point.
    victim = store.runs().query("scenario == 'baseline' and point == 1 and replicate == 1")
    (store.root / "runs" / f"{victim['run_id'].iloc[0]}.parquet").unlink()
    return store


def test_load_comparison_labels_points_keeps_the_sweep_order_and_the_smallest_count(
    two_point_store,
):
    from borderabm.analysis.compare import load_comparison, sector_names

    comparison = load_comparison(two_point_store)
    assert comparison.order == ["trade_corridor@0", "trade_corridor@1", "baseline@0", "baseline@1"]
    assert comparison.replicates == 1
    assert list(dict.fromkeys(comparison.runs["scenario"])) == comparison.order
    assert comparison.members["baseline@1"] == ("baseline", 1)
    assert comparison.design_point("baseline@1") == {"fence.coverage": 1.0}
    series = comparison.series()
    assert set(series["scenario"]) == set(comparison.order) and len(series) == 7 * 5
    assert {"Bajaur", "Kurram"} <= set(sector_names(series))
    table = comparison.table(["attacks"])
    assert table["scenario"].tolist() == comparison.order


def test_the_command_line_and_the_browser_show_the_same_comparison(two_point_store, monkeypatch):
    from borderabm.analysis.compare import load_comparison
    from borderabm.apps.ui import compare_page

    expected = load_comparison(two_point_store).table()
    printed = runner.invoke(app, ["compare", "--sweep", str(two_point_store.root), "--json"])
    assert printed.exit_code == 0, printed.output
    assert pd.DataFrame(json.loads(printed.stdout))["scenario"].tolist() == \
        expected["scenario"].tolist()  # fmt: skip
    pd.testing.assert_frame_equal(pd.DataFrame(json.loads(printed.stdout)),
                                  pd.DataFrame(json.loads(expected.to_json(orient="records"))),
                                  check_dtype=False)  # fmt: skip
    monkeypatch.setenv(compare_page.RESULTS_ENV, str(two_point_store.root.parent))
    shown = compare_page.load_saved_comparison(two_point_store.root.name)
    pd.testing.assert_frame_equal(shown.table, expected)
    assert shown.names == list(dict.fromkeys(expected["scenario"])) and shown.replicates == 1


def test_an_empty_results_folder_is_one_error_line(tmp_path):
    (tmp_path / "manifest.json").write_text('{"fingerprint": "f"}')
    result = runner.invoke(app, ["compare", "--sweep", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path}: runs: no finished runs yet\n"
    result = runner.invoke(app, ["compare", "--sweep", str(tmp_path / "nothing")])
    assert result.stderr == (f"error: {tmp_path / 'nothing'}: not a results directory "
                             "(no manifest.json)\n")  # fmt: skip


def test_point_table_gives_mean_and_interval_per_design_point(two_point_store):
    from borderabm.analysis.compare import point_table

    table = point_table(two_point_store.runs(), ["attacks"])
    assert list(table.columns) == ["scenario", "point", "replicates", "fence.coverage", "attacks",
                                   "attacks_low", "attacks_high"]  # fmt: skip
    assert table["replicates"].tolist() == [2, 1, 2, 2]  # baseline first: by name, then point
    assert (table["attacks_low"] <= table["attacks"]).all()
    assert (table["attacks"] <= table["attacks_high"]).all()
