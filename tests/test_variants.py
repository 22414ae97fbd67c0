"""Lever variants of one scenario (issue 14): the sweep, the command line and the page's functions.

``variant_sweep`` runs one scenario file under 2-4 variants of its levers on common seeds; the CLI
(``compare SCENARIO --variant ...``) and the Compare tab (``apps/ui/variants.py``) make the same
runs, so they show the same numbers. Real scenario files, real runs (2 variants x 2 replicates of
20-30 days), real results stores.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import shlex
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.analysis.compare import load_comparison
from borderabm.apps.cli.common import dump_json
from borderabm.apps.cli.main import app
from borderabm.apps.ui import compare_page as cp
from borderabm.apps.ui import variants as uv
from borderabm.apps.ui.robust_view import runs_html, worlds_csv
from borderabm.apps.ui.run_setup import build_model, uploaded_scenarios
from borderabm.apps.ui.scenario_file import read_upload
from borderabm.experiments.engines import InProcess
from borderabm.experiments.store import ResultsStore
from borderabm.experiments.sweep import (
    VARIANT_DESIGN,
    comparison_sweep,
    parse_variant,
    run_sweep,
    variant_items,
    variant_label,
    variant_sweep,
)
from borderabm.scenario import ScenarioError, load_scenario, resolve_scenario_path
from tests.test_bad_input_cli import error_of  # the CLI tests' check of one clean error line

runner = CliRunner()

BASELINE = resolve_scenario_path("baseline")
VARIANT = "fence.coverage=1 patrols.units=400"
LABEL = "baseline: fence.coverage=1.0 patrols.units=400"
SEED, DAYS, REPLICATES = 3, 20, 2


def problems_of(variants, **options) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        variant_sweep(BASELINE, variants, options.get("replicates", 2), 1, options.get("days", 20))
    assert caught.value.source == str(BASELINE)
    return caught.value.problems


@pytest.fixture(scope="module")
def api_store(tmp_path_factory):
    """The Python API's runs: the file as written and one variant, 2 seeds from 3, 20 days."""
    sweep = variant_sweep(BASELINE, [{}, parse_variant(VARIANT, 2, str(BASELINE))], REPLICATES,
                          SEED, DAYS)  # fmt: skip
    store = ResultsStore(tmp_path_factory.mktemp("variants-api") / "store")
    run_sweep(sweep, store, engine=InProcess())
    return store


# The sweep -------------------------------------------------------------------------------------
def test_a_variant_sweep_runs_one_scenario_under_each_variant_on_common_seeds():
    sweep = variant_sweep(BASELINE, [{}, {"fence.coverage": 1, "patrols.units": 400}], 2, 7, 20)
    # Typed by the schema: a float field holds 1.0 even when given 1, an integer field an int.
    assert sweep.points == [{}, {"fence.coverage": 1.0, "patrols.units": 400}]
    assert isinstance(sweep.points[1]["fence.coverage"], float)
    assert isinstance(sweep.points[1]["patrols.units"], int)
    assert [(r.point, r.seed) for r in sweep.runs] == [(0, 7), (0, 8), (1, 7), (1, 8)]
    assert len({r.run_id for r in sweep.runs}) == 4
    assert sweep.variants and sweep.spec.scenarios == (str(BASELINE),)
    assert list(sweep.scenario_files) == ["baseline"]
    assert sweep.scenario_files["baseline"][1] == hashlib.sha256(BASELINE.read_bytes()).hexdigest()
    # Each run is the scenario `--set` gives for the same values, seed and days.
    as_set = load_scenario(BASELINE, {"fence.coverage": 1, "patrols.units": 400, "seed": 8,
                                      "horizon_days": 20})  # fmt: skip
    assert sweep.runs[3].settings() == as_set
    assert sweep.runs[1].settings() == load_scenario(BASELINE, {"seed": 8, "horizon_days": 20})
    # Another set of variants is another sweep: its store is not resumed by this one.
    other = variant_sweep(BASELINE, [{}, {"fence.coverage": 0.5}], 2, 7, 20)
    assert other.source_sha256 != sweep.source_sha256 and other.spec.name != sweep.spec.name


def test_an_uploaded_text_is_read_from_memory_not_from_the_disk(tmp_path):
    text = "# my copy\n" + BASELINE.read_text()
    sweep = variant_sweep(tmp_path / "mine.toml", [{}, {"fence.coverage": 0.5}], 2, 1, 20,
                          text=text)  # fmt: skip
    assert not (tmp_path / "mine.toml").exists()
    assert list(sweep.scenario_files) == ["baseline"]
    assert sweep.scenario_files["baseline"][1] == hashlib.sha256(text.encode()).hexdigest()


def test_variant_lines_are_read_as_set_items():
    assert variant_items('a.b=1, c.d = "x y"; e.f=[1, 2] g={h=1, i=2}') == [
        "a.b=1", 'c.d="x y"', "e.f=[1, 2]", "g={h=1, i=2}"]  # fmt: skip
    assert parse_variant("", 1, "f") == {}
    assert parse_variant(" fence.coverage=0.5  gates.policy=open ", 2, "f") == {
        "fence.coverage": 0.5, "gates.policy": "open"}  # fmt: skip
    with pytest.raises(ScenarioError) as caught:
        parse_variant("fence.coverage=0.5 patrols", 2, "baseline.toml")
    assert caught.value.source == "baseline.toml"
    assert caught.value.problems == ["variant 2: 'patrols' is not of the form dotted.key=value "
                                     "(e.g. fence.coverage=1.0)"]  # fmt: skip
    with pytest.raises(ScenarioError) as caught:
        parse_variant("fence.coverage=0.5 fence.coverage=1", 3, "f")
    assert caught.value.problems == ["variant 3: fence.coverage: given twice (allowed: once)"]


def test_labels_read_as_people_would():
    assert variant_label("baseline", {}) == "baseline"
    assert variant_label("baseline", {"fence.coverage": 0.5, "patrols.units": 400}) == (
        "baseline: fence.coverage=0.5 patrols.units=400")  # fmt: skip
    assert variant_label("b", {"x.on": True, "x.name": "a b"}) == 'b: x.on=true x.name="a b"'


def test_bad_variants_are_lines_naming_the_variant_and_key():
    out_of_range, unknown = problems_of([{}, {"fence.coverag": 0.5, "fence.coverage": 1.5}])
    assert unknown.startswith("variant 2: fence.coverag: unknown key; did you mean 'coverage'? "
                              "(allowed: coverage, ")  # fmt: skip
    assert (
        out_of_range
        == "variant 2: fence.coverage: 1.5 is out of range (allowed: >= 0.0 and <= 1.0)"
    )
    assert problems_of([{}, {"patrols.units": 400.5}]) == [
        "variant 2: patrols.units: Input should be a valid integer, got a number with a "
        "fractional part (got 400.5) (allowed: >= 0 and <= 1000000)"]  # fmt: skip
    (seed,) = problems_of([{"seed": 4}, {}])
    assert seed.startswith("variant 1: seed: the seeds are common to every variant (allowed: ")
    assert problems_of([{}, {"fence.coverage": 0.5}, {"fence.coverage": 0.5}]) == [
        "variant 3: the same levers as variant 2 (allowed: different variants)"]  # fmt: skip
    assert problems_of([{}]) == [
        "variants: 1 given (allowed: 2 to 4 variants; the first is the reference)"]  # fmt: skip
    assert len(problems_of([{}, *({"fence.coverage": v / 10} for v in range(4))])) == 1
    with pytest.raises(ScenarioError) as caught:
        variant_sweep(BASELINE, [{}, {"fence.coverage": 0.5}], 0, 1, 20)
    assert caught.value.problems[0].startswith("replicates: ")


def test_a_stored_variant_comparison_is_labelled_by_its_levers_and_replays_them(api_store):
    comparison = load_comparison(api_store)
    assert comparison.order == ["baseline", LABEL]
    assert comparison.replicates == REPLICATES
    assert comparison.design_point("baseline") == {}
    assert comparison.design_point(LABEL) == {"fence.coverage": 1.0, "patrols.units": 400}
    design = api_store.read_manifest().design
    assert design.kind == VARIANT_DESIGN
    assert design.points == [{}, {"fence.coverage": 1.0, "patrols.units": 400}]
    assert set(comparison.table()["scenario"]) == {"baseline", LABEL}
    # The variant changed what it says: the patrols' cost falls with fewer units.
    table = comparison.table().set_index(["scenario", "metric"])
    assert table.loc[(LABEL, "policy_cost_usd"), "diff"] < 0


def test_a_plain_comparison_keeps_its_labels_and_fingerprint():
    plain = comparison_sweep([BASELINE, resolve_scenario_path("fence_full")], 2, 1, 20)
    assert not plain.variants and plain.points == [{}]
    from borderabm.experiments.sweep import manifest_for

    assert manifest_for(plain).design.kind == "factorial"


# The command line ------------------------------------------------------------------------------
def test_the_command_line_gives_the_numbers_of_the_api(api_store, tmp_path):
    result = runner.invoke(app, ["compare", "baseline", "--variant", "", "--variant", VARIANT,
                                 "--replicates", str(REPLICATES), "--days", str(DAYS), "--seed",
                                 str(SEED), "--json", "--out", str(tmp_path / "cli")])  # fmt: skip
    assert result.exit_code == 0, (result.exception, result.stderr)
    shown = pd.DataFrame(json.loads(result.stdout))
    expected = load_comparison(api_store).table()
    assert list(shown["scenario"].drop_duplicates()) == ["baseline", LABEL]
    for column in ("mean", "low", "high", "diff", "diff_low", "diff_high"):
        np.testing.assert_array_equal(shown[column].to_numpy(dtype=float),
                                      expected[column].to_numpy(dtype=float))  # fmt: skip
    # The table and a report read as people would.
    report = tmp_path / "report"
    table = runner.invoke(app, ["compare", "--sweep", str(tmp_path / "cli"), "--report",
                                str(report)])  # fmt: skip
    assert table.exit_code == 0 and "baseline: fence.coverage=1.0" in table.stdout
    assert LABEL in (report / "report.md").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["baseline", "--variant", "", "--variant", "fence.coverage=2"],
         "error: {path}: variant 2: fence.coverage: 2 is out of range (allowed: >= 0.0 and <= 1.0)"),
        (["baseline", "--variant", "", "--variant", "fence.coverage=0.5 patrols"],
         "error: {path}: variant 2: 'patrols' is not of the form dotted.key=value "
         "(e.g. fence.coverage=1.0)"),
        (["baseline", "--variant", "fence.coverage=0.5"],
         "error: {path}: variants: 1 given (allowed: 2 to 4 variants; the first is the reference)"),
        (["baseline", "fence_full", "--variant", "", "--variant", "fence.coverage=0.5"],
         "error: borderabm compare: SCENARIO_FILES: lever variants run one scenario (got 2; "
         "allowed: one scenario and 2-4 --variant)"),
        (["baseline", "--variant", "", "--variant", "fence.coverage=0.5", "--sweep", "x"],
         "error: borderabm compare: --variant: runs lever variants of one scenario on common seeds "
         "(allowed: without --sweep)"),
    ],
)  # fmt: skip
def test_bad_variants_on_the_command_line_are_one_error_line(args, expected, tmp_path):
    result = runner.invoke(app, ["compare", *args, "--days", "20", "--out", str(tmp_path / "o")])
    assert error_of(result) == expected.format(path=BASELINE)
    assert not (tmp_path / "o").exists()


# The page's functions --------------------------------------------------------------------------
@pytest.fixture()
def results_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(cp.RESULTS_ENV, str(tmp_path / "results"))
    uploaded_scenarios.set({})
    yield tmp_path / "results"
    uploaded_scenarios.set({})


def test_the_page_shows_the_cli_error_line_without_server_folders(results_folder):
    lines = ("", "fence.coverage=2", "", "")
    (problem,) = uv.variants_problems_and_notes("baseline", lines, 2, 30)[0]
    cli = error_of(runner.invoke(app, ["compare", "baseline", "--variant", "", "--variant",
                                       "fence.coverage=2"]))  # fmt: skip
    assert problem == cli.replace(str(BASELINE.parent) + "/", "scenarios folder: ")
    assert str(BASELINE.parent) not in problem
    assert (
        uv.variants_problems_and_notes("baseline", ("", "fence.coverage=0.5", "", ""), 2, 30)[0]
        == []
    )
    assert uv.variants_problems_and_notes("nowhere", ("", "x.y=1"), 2, 30)[0] == [
        "'nowhere': not a listed scenario or one uploaded in this tab"]  # fmt: skip
    assert uv.variants_problems_and_notes("baseline", ("", "fence.coverage=0.5"), 2, 10)[0] == [
        "days must be 30 to 730 (got 10)"]  # fmt: skip
    # Empty lines after the first are left out; an empty first line is the file as written.
    assert uv.asked_lines(["", " a=1 ", "", "b=2"]) == ["", "a=1", "b=2"]
    entry = uv.base_entries()["baseline"]
    assert uv.cli_command("baseline", entry, ["", VARIANT, ""], 2, 30) == (
        f"borderabm compare baseline --variant '' --variant '{VARIANT}' --replicates 2 --days 30 "
        "--seed 1")  # fmt: skip


def test_the_page_runs_variants_of_an_upload_into_the_results_folder_only(results_folder):
    scenario_folder = {p: p.stat().st_mtime_ns for p in BASELINE.parent.iterdir()}
    entry = read_upload("mine.toml", BASELINE.read_bytes())
    uploaded_scenarios.set({entry.name: entry})
    assert entry.name in uv.base_entries()
    calls = []
    result = uv.run_variants(entry.name, ("", "fence.coverage=0.5"), 2, 30,
                             lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert result.names == ["baseline", "baseline: fence.coverage=0.5"]
    assert list(result.scorecard.columns) == ["metric", *result.names]
    assert result.results_dir.parent == results_folder
    assert result.results_dir.name.startswith("ui-variants-mine-r2-d30-s1-")
    assert result.results_dir.name.endswith("-" + result.comparison_id)
    # Not listed: no replay, and the row says why; nothing was written to the scenario folder.
    assert set(result.runs["replay_refused"]) == {uv.UPLOADED_NO_REPLAY}
    assert {p: p.stat().st_mtime_ns for p in BASELINE.parent.iterdir()} == scenario_folder
    # The same numbers as the API on the same seeds (the upload is the baseline file).
    sweep = variant_sweep(BASELINE, [{}, {"fence.coverage": 0.5}], 2, 1, 30)
    store = ResultsStore(results_folder.parent / "api")
    run_sweep(sweep, store, engine=InProcess())
    pd.testing.assert_frame_equal(result.table, load_comparison(store).table())


def test_a_listed_base_replays_each_variant_and_its_link_opens_it_again(results_folder):
    result = uv.run_variants("baseline", ["", "fence.coverage=0.5"], 2, 30)
    runs = result.runs
    assert set(runs["replay"]) == {"baseline"}
    assert [o for o in runs["overrides"]] == [None, None, {"fence.coverage": 0.5},
                                              {"fence.coverage": 0.5}]  # fmt: skip
    again = cp.open_comparison(result.comparison_id)
    assert again.names == result.names and again.title == result.title
    pd.testing.assert_frame_equal(again.table, result.table)
    assert list(again.runs["overrides"]) == list(runs["overrides"])


def test_the_compare_tab_offers_lever_variants_and_refuses_a_bad_line(results_folder, monkeypatch):
    import ipyvuetify as v
    import solara

    from borderabm.apps.ui import session

    monkeypatch.setattr(session, "_STORE", OrderedDict())
    monkeypatch.setattr(session, "_session_id", lambda: "one-browser")
    for state, value in ((cp.compare_mode, uv.VARIANTS), (cp.last_comparison, None),
                         (cp.compare_replicates, 2), (cp.compare_days, cp.MIN_DAYS),
                         (uv.variants_base, None), (uv.variants_lines, uv.DEFAULT_LINES),
                         (uv.variants_worlds, 0)):  # fmt: skip
        state.set(value)
    _, rc = solara.render(cp.ComparePage(), handle_error=False)
    assert rc.find(v.Select, label="Base scenario").widget.v_model == "baseline"
    field = rc.find(v.TextField, label="Variant 2").widget
    assert field.v_model == "fence.coverage=1.0"
    assert not rc.find(v.Btn, children=["Run lever variants"]).widget.disabled
    field.v_model = "fence.coverage=2"
    field.fire_event("keyup.enter", None)  # the field reports its value on Enter
    (alert,) = rc.find(v.Alert).widgets
    assert alert.children == [
        "error: scenarios folder: baseline.toml: variant 2: fence.coverage: 2 is out of range "
        "(allowed: >= 0.0 and <= 1.0)"]  # fmt: skip
    assert rc.find(v.Btn, children=["Run lever variants"]).widget.disabled
    # The session keeps the lines for a reload.
    assert session.recall(uv.FORM_KEY) == {"base": "baseline",
                                           "lines": ["", "fence.coverage=2", "", ""],
                                           "worlds": 0}  # fmt: skip
    rc.close()


# Lever variants across plausible worlds (--variant with --uncertainty) ----------------------------
POSTERIOR = Path(__file__).resolve().parents[1] / "docs" / "calibration" / "posterior.csv"


def test_variants_across_worlds_equal_the_same_policies_as_scenario_files(tmp_path):
    """The robust comparison of two variants gives the numbers of the same two policies written
    as scenario files and compared with --uncertainty: same draws, same seeds, same runs."""
    fenced = tmp_path / "baseline_fenced.toml"
    text = BASELINE.read_text()
    assert "coverage = 0.94" in text  # the line the copy changes
    fenced.write_text(text.replace('name = "baseline"', 'name = "baseline_fenced"', 1)
                      .replace("coverage = 0.94", "coverage = 1.0", 1))  # fmt: skip
    common = ["--uncertainty", str(POSTERIOR), "--draws", "2", "--replicates", "2", "--days",
              "12", "--workers", "1", "--json"]  # fmt: skip
    variants = runner.invoke(app, ["compare", "baseline", "--variant", "", "--variant",
                                   "fence.coverage=1", *common, "--out", str(tmp_path / "v")])  # fmt: skip
    files = runner.invoke(app, ["compare", str(BASELINE), str(fenced), *common, "--out",
                                str(tmp_path / "f")])  # fmt: skip
    assert variants.exit_code == 0, variants.output
    assert files.exit_code == 0, files.output
    by_variant, by_file = json.loads(variants.stdout), json.loads(files.stdout)
    assert (by_variant["worlds"], by_variant["seeds"]) == (2, 2)
    labels = {"baseline": "baseline", "baseline: fence.coverage=1.0": "baseline_fenced"}
    assert {row["scenario"] for row in by_variant["table"]} == set(labels)
    for row in by_variant["table"]:
        row["scenario"] = labels[row["scenario"]]
    assert by_variant["table"] == by_file["table"]
    # Each stored run is the variant laid over its world's draw: 2 variants x 2 worlds x 2 seeds.
    runs = ResultsStore(tmp_path / "v").runs()
    assert len(runs) == 8 and sorted(runs["point"].unique()) == [0, 1, 2, 3]
    assert (runs[runs["point"] >= 2]["fence.coverage"] == 1.0).all()
    worlds = runs.groupby(runs["point"] % 2)["population.militants"].nunique()
    assert (worlds == 1).all()  # the reference and the variant saw the same world


def test_a_variant_may_not_set_a_parameter_the_worlds_draw(tmp_path):
    result = runner.invoke(app, [
        "compare", "baseline", "--variant", "", "--variant", "population.militants=500",
        "--uncertainty", str(POSTERIOR), "--draws", "2", "--out", str(tmp_path / "o"),
    ])  # fmt: skip
    assert error_of(result) == (
        f"error: {BASELINE}: population.militants: set by a variant and drawn across worlds by "
        f"{POSTERIOR} (allowed: a variant sets levers the draws leave alone)"
    )
    assert not (tmp_path / "o").exists()


def test_the_page_runs_variants_across_worlds_as_its_command_line_does(results_folder):
    result = uv.run_variants("baseline", ["", "fence.coverage=0.5"], 2, 30, worlds=2)
    assert isinstance(result, uv.RobustResult)
    assert result.results_dir.name.startswith("ui-variants-baseline-w2-r2-d30-s1-")
    robust = result.robust
    assert robust.order == ["baseline", "baseline: fence.coverage=0.5"]
    assert (robust.worlds, robust.seeds) == (2, 2)
    line = uv.cli_command("baseline", uv.base_entries()["baseline"], ["", "fence.coverage=0.5"],
                          2, 30, worlds=2)  # fmt: skip
    assert line.endswith(f"--uncertainty {uv.POSTERIOR_IN_CHECKOUT} --draws 2")
    args = shlex.split(line)[1:]
    args[args.index(uv.POSTERIOR_IN_CHECKOUT)] = str(POSTERIOR)  # the same file, from anywhere
    cli = runner.invoke(app, [*args, "--json", "--out", str(results_folder.parent / "cli")])
    assert cli.exit_code == 0, cli.output
    shown = json.loads(dump_json(robust.table.to_dict(orient="records")))
    assert shown == json.loads(cli.stdout)["table"]
    # Its link opens it again, from the store; the worlds are part of its id.
    again = cp.open_comparison(result.link_id)
    assert isinstance(again, uv.RobustResult) and again.robust.order == robust.order
    plain = uv.run_variants("baseline", ["", "fence.coverage=0.5"], 2, 30)
    assert plain.comparison_id != result.link_id
    # Every run is listed with its replay link; the last (the variant, world 2, seed 2) replays
    # on the Run tab exactly: the variant's levers over the world's draw.
    worlds = pd.read_csv(io.StringIO(worlds_csv(robust)))
    assert sorted(set(worlds["world"])) == [1, 2] and (worlds["world"] == worlds["point"] + 1).all()
    links = re.findall(r"href='([^']+)'", runs_html(robust, result.link_id))
    assert len(links) == len(robust.runs) == 8
    identity, run_id = cp.linked_run(html.unescape(links[-1]))
    row = robust.runs.set_index("run_id").loc[run_id]
    assert (row["scenario"], row["point"], row["seed"]) == ("baseline: fence.coverage=0.5", 1, 2)
    request = cp.stored_replay(identity, run_id)
    assert request["overrides"]["fence.coverage"] == 0.5
    assert request["overrides"]["population.militants"] == row["population.militants"]
    model = build_model(request["scenario"], None, request["seed"], request["days"],
                        request["overrides"])  # fmt: skip
    model.run(request["days"])
    assert all(model.summary()[m] == row[m] for m in ("attacks", "formal_trade_usd"))
    assert uv.variants_problems_and_notes("baseline", ("", "fence.coverage=0.5"), 2, 30, 51)[0] == [
        "plausible worlds must be 0 to 50 (got 51)"]  # fmt: skip
    assert uv.variants_problems_and_notes("baseline", ("", "population.militants=500"), 2, 30, 2)[0] == [
        "error: scenarios folder: baseline.toml: population.militants: set by a variant and "
        "drawn across worlds by shipped calibration: baseline_posterior.csv "
        "(allowed: a variant sets levers the draws leave alone)"]  # fmt: skip
