"""Sensitivity analysis of Morris and Sobol sweeps: known answers, real sweeps, charts, refusals."""

import hashlib
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from rich.console import Console

from borderabm.analysis.sensitivity import analyse
from borderabm.apps.cli.sensitivity import analyse_sensitivity_and_report
from borderabm.experiments.designs import Parameter, generate
from borderabm.experiments.store import RUNS, ResultsStore
from borderabm.report.sensitivity import bar_chart

SWEEP = """
name = "sa_{kind}"
scenarios = {scenarios}
replicates = {replicates}
days = 20
series = false
metrics = ["attacks", "formal_trade_usd", "border_deaths"]

[design]
kind = "{kind}"
samples = {samples}

[parameters."fence.coverage"]
low = 0
high = 1

[parameters."patrols.units"]
low = 100
high = 1500
integer = true
"""
METRICS = ["attacks", "formal_trade_usd", "border_deaths"]
PARAMETERS = ["fence.coverage", "patrols.units"]


def sweep_file(folder, kind, samples, scenarios=("baseline",), replicates=1):
    path = folder / f"sa_{kind}.toml"
    path.write_text(SWEEP.format(kind=kind, samples=samples, replicates=replicates,
                                 scenarios=json.dumps(list(scenarios))))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A small Morris sweep (two scenarios) and a small Sobol sweep, run and analysed once."""
    folder = tmp_path_factory.mktemp("sa")
    done = {}
    for kind, samples, scenarios, replicates in (
        ("morris", 4, ("baseline", "trade_corridor"), 1),
        ("sobol", 4, ("baseline",), 1),
    ):
        output = io.StringIO()
        console = Console(file=output, width=200)
        out = folder / f"out_{kind}"
        path = sweep_file(folder, kind, samples, scenarios, replicates)
        table = analyse_sensitivity_and_report(path, out, [], 1, None, console)
        done[kind] = {"table": table, "out": out, "printed": output.getvalue(),
                      "scenarios": scenarios}  # fmt: skip
    return done


def synthetic_store(root, kind, samples, response, replicates=1, scenarios=("synthetic",)):
    """A store written by hand: the metrics are known functions of the parameters.

    Runs get content ids, as in the engines, so design points with equal values share one run.
    """
    parameters = [Parameter("gain", low=0.0, high=1.0), Parameter("inert", low=100.0, high=1500.0)]
    points = generate(kind, parameters, samples, seed=3)
    store = ResultsStore(root)
    store.write_manifest({
        "sweep": {"name": "synthetic"},
        "scenarios": {name: {} for name in scenarios},
        "design": {
            "kind": kind,
            "samples": samples,
            "parameters": {p.key: {"low": p.low, "high": p.high, "integer": False,
                                   "levels": None} for p in parameters},
            "points": points,
        },
        "replicates": replicates,
    })  # fmt: skip
    for scenario in scenarios:
        for index, point in enumerate(points):
            for replicate in range(replicates):
                content = json.dumps([scenario, point, replicate], sort_keys=True).encode()
                run_id = hashlib.sha256(content).hexdigest()[:20]
                row = {"run_id": run_id, "scenario": scenario, "point": index,
                       "replicate": replicate, "seed": 1 + replicate, **point,
                       **response(point, replicate)}  # fmt: skip
                store.write_run(run_id, row, None, scenario, index)
    return store, points


def linear(point, replicate):
    # y = 10 gain + 0 inert, plus replicate noise in 'inert' that cancels in the replicate mean.
    noise = (3.0 if replicate == 0 else -3.0) * point["inert"] / 1500.0
    return {"y": 10.0 * point["gain"] + noise, "flat": 5.0, "label": "x"}


# Real sweeps -----------------------------------------------------------------------------------
def test_real_sweeps_give_one_finite_row_per_scenario_metric_and_parameter(real):
    for kind, columns in (("morris", ["mu_star", "mu_star_conf", "sigma"]),
                          ("sobol", ["S1", "S1_conf", "ST", "ST_conf"])):  # fmt: skip
        table = real[kind]["table"]
        expected = {(s, m, p) for s in real[kind]["scenarios"] for m in METRICS for p in PARAMETERS}
        assert len(table) == len(expected)
        assert set(zip(table["scenario"], table["metric"], table["parameter"], strict=True)) == (
            expected
        )
        assert list(table.columns[:3]) == ["scenario", "metric", "parameter"]
        values = table[columns].to_numpy(dtype=float)
        assert np.isfinite(values).all(), table
    morris = real["morris"]["table"]
    assert (morris["mu_star"] >= 0).all() and (morris["mu_star_conf"] >= 0).all()
    # The trade a fence and patrols allow cannot be insensitive to both.
    trade = morris[morris["metric"] == "formal_trade_usd"]
    assert (trade.groupby("scenario")["mu_star"].max() > 0).all()


def test_command_writes_csv_and_png_and_prints_the_table(real):
    for kind in ("morris", "sobol"):
        out = real[kind]["out"]
        written = pd.read_csv(out / "sensitivity.csv")
        pd.testing.assert_frame_equal(written, real[kind]["table"], check_dtype=False)
        with Image.open(out / "sensitivity.png") as image:
            image.load()
            assert image.format == "PNG"
            width, height = image.size
            assert width >= 600 and height >= 200
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 50  # drawn, not a blank canvas
        printed = real[kind]["printed"]
        assert "Formal trade (US$)" in printed and "patrols.units" in printed  # label (D5)
        assert ("mu_star" if kind == "morris" else "ST_conf") in printed


def test_analysis_is_deterministic_and_uses_its_bootstrap_seed(real):
    store = ResultsStore(real["morris"]["out"])
    first = analyse(store, METRICS)
    pd.testing.assert_frame_equal(first, analyse(store, METRICS))
    pd.testing.assert_frame_equal(first, real["morris"]["table"])
    sobol = ResultsStore(real["sobol"]["out"])
    pd.testing.assert_frame_equal(analyse(sobol, METRICS), analyse(sobol, METRICS))
    other = analyse(sobol, METRICS, seed=7)
    assert not np.allclose(other["ST_conf"], real["sobol"]["table"]["ST_conf"])
    pd.testing.assert_series_equal(other["ST"], real["sobol"]["table"]["ST"])


def test_a_factorial_sweep_file_is_refused_before_running(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('name = "f"\nscenarios = ["baseline"]\ndays = 5\n[design]\nkind = "factorial"\n'
                    '[parameters."fence.coverage"]\nlevels = [0.5, 1.0]\n')  # fmt: skip
    with pytest.raises(ValueError, match=r"'factorial' \(allowed: morris, sobol\)"):
        analyse_sensitivity_and_report(
            path, tmp_path / "out", [], 1, None, Console(file=io.StringIO())
        )
    assert not (tmp_path / "out").exists()


# Known answers ---------------------------------------------------------------------------------
def test_morris_known_answer(tmp_path):
    store, points = synthetic_store(tmp_path, "morris", 10, linear, replicates=2)
    distinct = {tuple(sorted(p.items())) for p in points}
    assert len(distinct) < len(points)  # equal design points share runs; the analysis copes
    assert len(store.runs()) < len(points) * 2
    table = analyse(store, ["y"]).set_index("parameter")
    assert table.loc["gain", "mu_star"] == pytest.approx(10.0)  # effect over the whole range
    assert table.loc["gain", "mu"] == pytest.approx(10.0)
    assert table.loc["gain", "sigma"] == pytest.approx(0.0, abs=1e-9)  # linear: no spread
    assert table.loc["inert", "mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["inert", "mu_star_conf"] == pytest.approx(0.0, abs=1e-9)


def test_morris_sigma_sees_an_interaction(tmp_path):
    store, _ = synthetic_store(tmp_path, "morris", 10,
                               lambda p, r: {"y": p["gain"] * p["inert"]})  # fmt: skip
    table = analyse(store, ["y"]).set_index("parameter")
    assert table.loc["gain", "sigma"] > 100  # the effect of gain depends on inert
    assert table.loc["inert", "mu_star"] > 0


def test_sobol_known_answer(tmp_path):
    store, _ = synthetic_store(tmp_path, "sobol", 64, linear, replicates=2)
    table = analyse(store, ["y"]).set_index("parameter")
    assert table.loc["gain", "ST"] == pytest.approx(1.0, abs=0.1)
    assert table.loc["gain", "S1"] == pytest.approx(1.0, abs=0.15)
    assert table.loc["inert", "ST"] == pytest.approx(0.0, abs=0.02)
    assert table.loc["inert", "S1"] == pytest.approx(0.0, abs=0.02)
    assert (table[["S1_conf", "ST_conf"]] >= 0).all().all()


def test_constant_metric_gives_zero_indices_without_warnings(tmp_path):
    for kind, samples in (("morris", 6), ("sobol", 16)):
        store, _ = synthetic_store(tmp_path / kind, kind, samples, linear)
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")  # SALib warns (and divides 0 by 0) on constant output
            table = analyse(store, ["flat", "y"])
        flat = table[table["metric"] == "flat"].drop(columns=["scenario", "metric", "parameter"])
        assert (flat.to_numpy() == 0).all(), flat
        assert table[table["metric"] == "y"].iloc[:, 3:].abs().to_numpy().max() > 0


def test_every_scenario_is_analysed_separately(tmp_path):
    def response(point, replicate):
        return {"y": 10.0 * point["gain"]}

    store, _ = synthetic_store(tmp_path, "morris", 6, response, scenarios=("one", "two"))
    table = analyse(store, ["y"])
    assert list(dict.fromkeys(table["scenario"])) == ["one", "two"]
    assert len(table) == 4


def test_bar_chart_of_a_synthetic_table(tmp_path):
    store, _ = synthetic_store(tmp_path / "s", "sobol", 16, linear)
    png = bar_chart(analyse(store, ["y", "flat"]), tmp_path / "charts" / "s.png")
    with Image.open(png) as image:
        assert image.size[0] > 500 and image.size[1] > 200
    with pytest.raises(ValueError, match="no sensitivity indices"):
        bar_chart(pd.DataFrame(columns=["scenario", "metric", "parameter", "ST", "S1"]),
                  tmp_path / "empty.png")  # fmt: skip


def test_morris_outputs_name_metrics_by_label_and_unit_audit_shown_d5(tmp_path, monkeypatch):
    """The table, the panel titles and the μ* axis read "Formal trade (US$)", not the raw key."""
    from borderabm.analysis.sensitivity import INDICES
    from borderabm.report import sensitivity as report

    rows = [{"scenario": "baseline", "metric": "formal_trade_usd", "parameter": "fence.coverage",
             **dict.fromkeys(INDICES["morris"], 211_523.7)}]  # fmt: skip
    table = pd.DataFrame(rows)
    printed = io.StringIO()
    report.print_indices(table, Console(file=printed, width=200))
    assert (
        "Formal trade (US$)" in printed.getvalue() and "formal_trade_usd" not in printed.getvalue()
    )
    assert "211,524" in printed.getvalue() and "e+05" not in printed.getvalue()
    drawn = {}
    save = report.charts.save

    def keep_texts(figure, out):
        drawn["texts"] = [(ax.get_title(), ax.get_xlabel()) for ax in figure.axes]
        return save(figure, out)

    monkeypatch.setattr(report.charts, "save", keep_texts)
    report.bar_chart(table, tmp_path / "s.png")
    assert drawn["texts"] == [
        ("baseline — Formal trade (US$)", "μ* (US$ per full parameter range)")
    ]


# Refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["factorial", "lhs"])
def test_other_designs_are_refused(tmp_path, kind):
    store, _ = synthetic_store(tmp_path, "lhs", 8, linear)
    manifest = store.manifest()
    manifest["design"]["kind"] = kind
    store.write_manifest(manifest)
    with pytest.raises(ValueError, match=rf"design kind is '{kind}' \(allowed: morris, sobol\)"):
        analyse(store, ["y"])


def test_unknown_metric_and_unfinished_sweep_are_refused(tmp_path):
    store, _ = synthetic_store(tmp_path, "morris", 6, linear)
    with pytest.raises(ValueError, match=r"unknown or non-numeric metric 'nope'.*allowed: y"):
        analyse(store, ["nope"])
    with pytest.raises(ValueError, match="'label'"):
        analyse(store, ["label"])
    first = sorted((tmp_path / RUNS).glob("*.parquet"))[0]
    first.unlink()
    with pytest.raises(ValueError, match="design points lack finished runs"):
        analyse(store, ["y"])
    with pytest.raises(ValueError, match="not a results directory"):
        analyse(ResultsStore(tmp_path / "nowhere"), ["y"])


def test_sensitivity_command_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from borderabm.apps.cli.main import app

    sweep = tmp_path / "m.toml"
    sweep.write_text(
        'name = "m"\nscenarios = ["baseline"]\nreplicates = 1\ndays = 10\nseries = false\n'
        '[design]\nkind = "morris"\nsamples = 3\n'
        '[parameters."fence.coverage"]\nlow = 0.0\nhigh = 1.0\n'
        '[parameters."militants.infiltrations_per_cell_year"]\nlow = 0.2\nhigh = 2.0\n'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["sensitivity", str(sweep), "--out", str(out), "--metric", "militant_crossings",
              "--workers", "1"], terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "sensitivity.png").exists()
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["parameter"]) == {"fence.coverage", "militants.infiltrations_per_cell_year"}
    assert "9 runs executed" in result.stdout
    bad = tmp_path / "f.toml"
    bad.write_text(sweep.read_text().replace('kind = "morris"', 'kind = "lhs"'))
    refused = CliRunner().invoke(app, ["sensitivity", str(bad), "--out", str(tmp_path / "o2")])
    assert refused.exit_code == 2
    assert "allowed: morris, sobol" in refused.output
