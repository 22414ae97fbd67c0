"""Robust comparison across plausible worlds: draws, wins, regret, flips, and the command end to end."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.analysis.robust import flip_table, load_robust, robust_comparison
from borderabm.apps.cli.main import app
from borderabm.experiments.run import run_one
from borderabm.experiments.store import ResultsStore
from borderabm.experiments.uncertainty import load_draws, typed_overrides
from borderabm.scenario import ScenarioError, load_scenario, resolve_scenario_path, with_overrides

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
POSTERIOR = REPO / "docs" / "calibration" / "posterior.csv"
CALIBRATION_SPEC = REPO / "calibration" / "baseline.toml"


# Draws ------------------------------------------------------------------------------------------
def test_posterior_draws_are_distinct_rows_of_parameter_columns():
    table = pd.read_csv(POSTERIOR)
    draws = load_draws(POSTERIOR, 10, seed=3)
    assert draws.kind == "posterior"
    assert "distance" not in draws.parameters
    assert not any(p.startswith("predicted.") for p in draws.parameters)
    assert "population.militants" in draws.parameters
    rows = {tuple(p[k] for k in draws.parameters) for p in draws.points}
    assert len(rows) == 10  # no row twice
    known = {tuple(r) for r in table[list(draws.parameters)].itertuples(index=False)}
    assert rows <= known
    assert load_draws(POSTERIOR, 10, seed=3).points == draws.points  # the seed decides
    assert load_draws(POSTERIOR, 10, seed=4).points != draws.points


def test_ranges_from_a_calibration_spec_stay_within_the_priors():
    draws = load_draws(CALIBRATION_SPEC, 40, seed=1)
    assert draws.kind == "ranges"
    assert len(draws.points) == 40
    militants = np.array([p["population.militants"] for p in draws.points])
    assert militants.min() >= 200 and militants.max() <= 1200
    assert militants.max() - militants.min() > 500  # a Latin hypercube spreads over the range


@pytest.mark.parametrize(
    ("content", "suffix", "draws", "expected"),
    [
        ("distance,predicted.trade\n1,2\n", ".csv", 1, "no parameter column"),
        ("fence.coverage,distance\n0.5,1\n0.6,2\n", ".csv", 5, "the table has 2 rows"),
        ("fence.coverage\nabc\n", ".csv", 1, "fence.coverage: a value is not a finite number"),
        ("name = 'x'\n", ".toml", 3, "no [parameters] ranges"),
        ('[parameters."fence.coverage"]\nlow = 0.9\nhigh = 0.1\n', ".toml", 3, "low < high"),
        ("x", ".json", 3, "unknown kind of file"),
    ],
)
def test_bad_uncertainty_files_name_the_file_and_the_problem(tmp_path, content, suffix, draws,
                                                             expected):  # fmt: skip
    path = tmp_path / f"u{suffix}"
    path.write_text(content)
    with pytest.raises(ScenarioError) as raised:
        load_draws(path, draws)
    assert raised.value.source == str(path)
    assert expected in "; ".join(raised.value.problems)


def test_integer_fields_get_whole_numbers_and_unknown_keys_are_named():
    base = load_scenario(resolve_scenario_path("baseline"))
    typed, unknown = typed_overrides(base, {"population.militants": 611.6, "fence.coverage": 0.25,
                                            "fence.nonsense": 1.0})  # fmt: skip
    assert typed == {"population.militants": 612, "fence.coverage": 0.25}
    assert unknown == ["fence.nonsense"]


# Statistics on known answers --------------------------------------------------------------------
def _runs(values: dict[str, np.ndarray], parameter: np.ndarray) -> pd.DataFrame:
    """Runs of policies (world x seed arrays of attacks) with one parameter per world."""
    rows = []
    for policy, cube in values.items():
        for world in range(cube.shape[0]):
            for seed in range(cube.shape[1]):
                rows.append({"scenario": policy, "point": world, "seed": seed + 1,
                             "attacks": cube[world, seed], "x": parameter[world]})  # fmt: skip
    return pd.DataFrame(rows)


def test_wins_ties_regret_and_worst_case_on_a_known_answer():
    reference = np.array([[10.0, 12.0], [20.0, 20.0], [30.0, 30.0], [5.0, 5.0]])
    policy = np.array([[8.0, 10.0], [25.0, 25.0], [30.0, 30.0], [1.0, 3.0]])
    robust = robust_comparison(_runs({"ref": reference, "pol": policy}, np.arange(4.0)),
                               ["ref", "pol"], ["x"], ["attacks"])  # fmt: skip
    table = robust.table.set_index("scenario")
    # Worlds (seed means): ref 11, 20, 30, 5; pol 9, 25, 30, 2. Fewer attacks is better.
    assert table.loc["pol", "share_beats"] == pytest.approx(0.5)  # worlds 0 and 3
    assert table.loc["pol", "share_ties"] == pytest.approx(0.25)  # world 2
    assert table.loc["pol", "diff"] == pytest.approx((-2 + 5 + 0 - 3) / 4)
    # Regret against the best in each world: pol 0, 5, 0, 0; ref 2, 0, 0, 3.
    assert table.loc["pol", "regret_mean"] == pytest.approx(5 / 4)
    assert table.loc["pol", "regret_max"] == pytest.approx(5.0)
    assert table.loc["ref", "regret_mean"] == pytest.approx(5 / 4)
    assert table.loc["ref", "regret_max"] == pytest.approx(3.0)
    assert table.loc["pol", "worst"] == pytest.approx(30.0)
    assert table.loc["pol", "share_best"] == pytest.approx(0.75)
    assert robust.head_to_head("pol", "ref", "attacks") == (0.5, 0.25)
    assert robust.head_to_head("ref", "pol", "attacks") == (0.25, 0.25)


def test_prim_finds_where_the_ranking_flips():
    rng = np.random.default_rng(5)
    worlds = 60
    x = rng.uniform(0, 1, worlds)
    other = pd.DataFrame({"x": x, "noise": rng.uniform(0, 1, worlds)})
    reference = np.full(worlds, 100.0)
    # The policy has fewer attacks unless x > 0.7, where it has more.
    policy = np.where(x > 0.7, 110.0, 90.0)
    flips = flip_table(["ref", "pol"], "attacks", np.vstack([reference, policy]), other,
                       ["x", "noise"])  # fmt: skip
    flip = flips.iloc[0]
    assert flip["outcome"] == "loses"
    assert flip["worlds"] == int((x > 0.7).sum())
    assert flip["condition"].startswith("x >= 0.7")
    assert "noise" not in flip["condition"]
    assert flip["coverage"] >= 0.9 and flip["density"] >= 0.9


def test_a_ranking_that_never_flips_has_no_flip_row():
    other = pd.DataFrame({"x": np.linspace(0, 1, 20)})
    values = np.vstack([np.full(20, 10.0), np.full(20, 5.0)])
    assert flip_table(["ref", "pol"], "attacks", values, other, ["x"]).empty


# The command end to end -------------------------------------------------------------------------
def test_robust_compare_runs_every_policy_on_the_same_draws_and_seeds(tmp_path):
    out = tmp_path / "runs"
    result = runner.invoke(app, [
        "compare", "baseline", "trade_corridor", "--uncertainty", str(POSTERIOR), "--draws", "3",
        "--replicates", "2", "--days", "20", "--workers", "1", "--json", "--out", str(out),
        "--report", str(tmp_path / "report"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["worlds"], record["seeds"]) == (3, 2)
    assert {r["scenario"] for r in record["table"]} == {"baseline", "trade_corridor"}
    corridor = [r for r in record["table"] if r["scenario"] == "trade_corridor"]
    assert all(0.0 <= r["share_beats"] <= 1.0 for r in corridor if r["share_beats"] is not None)
    runs = ResultsStore(out).runs()
    assert len(runs) == 2 * 3 * 2
    by_world = runs.groupby(["point", "seed"])["population.militants"].nunique()
    assert (by_world == 1).all()  # both policies saw the same world on every seed
    for name in ("robust.html", "robust.md", "robust_share.png", "robust_table.csv"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_robust_numbers_are_the_runs_the_api_gives(tmp_path):
    """What is shown is what is computed: a world's value equals a plain run with its draw."""
    out = tmp_path / "runs"
    result = runner.invoke(app, [
        "compare", "baseline", "fence_full", "--uncertainty", str(POSTERIOR), "--draws", "2",
        "--replicates", "1", "--days", "15", "--workers", "1", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    robust = load_robust(ResultsStore(out))
    draws = load_draws(POSTERIOR, 2, seed=1)
    base = load_scenario(resolve_scenario_path("fence_full"))
    typed, _ = typed_overrides(base, draws.points[1])
    settings = with_overrides(base, {**typed, "seed": 1, "horizon_days": 15}, "test")
    summary = run_one(settings).summary
    values = robust.world_values
    shown = values[(values["metric"] == "attacks") & (values["point"] == 1)]["fence_full"].iloc[0]
    assert shown == summary["attacks"]
    assert "Attacks" in result.stdout and "beats reference" in result.stdout


def test_robust_compare_bad_input_is_one_error_line(tmp_path):
    missing = runner.invoke(app, ["compare", "baseline", "fence_full", "--uncertainty",
                                  str(tmp_path / "none.csv")])  # fmt: skip
    assert missing.exit_code == 2
    assert f"error: {tmp_path / 'none.csv'}: file not found" in missing.stderr
    too_many = runner.invoke(app, ["compare", "baseline", "fence_full", "--uncertainty",
                                   str(POSTERIOR), "--draws", "5000", "--out",
                                   str(tmp_path / "x")])  # fmt: skip
    assert too_many.exit_code == 2
    assert "draws: 5000 asked" in too_many.stderr and "Traceback" not in too_many.output
    unknown = tmp_path / "u.csv"
    unknown.write_text("fence.nonsense\n0.5\n")
    bad_key = runner.invoke(app, ["compare", "baseline", "fence_full", "--uncertainty",
                                  str(unknown), "--draws", "1", "--out", str(tmp_path / "y")])  # fmt: skip
    assert bad_key.exit_code == 2
    assert "fence.nonsense: not a key of scenario" in bad_key.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_robust_comparison_is_the_same_on_a_dask_cluster(tmp_path):
    """The engine decides where runs execute, never what they give."""
    tables = {}
    for engine in (["--workers", "1"], ["--dask", "local"]):
        out = tmp_path / engine[0].strip("-")
        result = runner.invoke(app, [
            "compare", "baseline", "trade_corridor", "--uncertainty", str(POSTERIOR), "--draws",
            "2", "--replicates", "1", "--days", "10", "--json", "--out", str(out), *engine,
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        tables[engine[0]] = json.loads(result.stdout)["table"]
    assert tables["--workers"] == tables["--dask"]


def test_a_comparison_over_too_many_worlds_is_refused_before_any_run_is_listed():
    from borderabm.experiments.sweep import comparison_sweep

    draws = load_draws(CALIBRATION_SPEC, 10_000, seed=1)
    baseline = resolve_scenario_path("baseline")
    with pytest.raises(ScenarioError, match=r"draws: 200,000 runs .* too many for one comparison"):
        comparison_sweep([baseline, baseline], 10, 1, 5, draws)
