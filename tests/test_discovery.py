"""Scenario discovery (PRIM): known boxes, agreement with the EMA Workbench, a real sweep, refusals."""

import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from borderabm.analysis.prim import (
    PrimState,
    boxes_table,
    prim,
    select_step,
    trajectory_table,
)
from borderabm.apps.cli.main import app
from borderabm.experiments.store import ResultsStore
from borderabm.experiments.sweep import comparison_sweep, load_sweep, run_sweep

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()
SETTINGS = {"peel_alpha": 0.05, "paste_alpha": 0.05, "min_mass": 0.05, "objective": "lenient1"}


def uniform_cases(seed: int, n: int = 500, dims: str = "abcd") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({name: rng.random(n) for name in dims})


def true_box(x: pd.DataFrame) -> np.ndarray:
    return ((x["a"] > 0.7) & (x["b"] < 0.3)).to_numpy()


# PRIM on synthetic data ---------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "objective"), [(0, "original"), (1, "original"), (2, "lenient1")])
def test_prim_recovers_a_known_box(seed, objective):
    x = uniform_cases(seed)
    y = true_box(x)
    result = prim(x, y, objective=objective)
    assert len(result.boxes) == 1
    box = result.boxes[0].step
    assert set(box.restricted) == {"a", "b"}  # c and d are noise: left open
    a, b = result.names.index("a"), result.names.index("b")
    assert box.lower[a] == pytest.approx(0.7, abs=0.03)
    assert box.upper[b] == pytest.approx(0.3, abs=0.03)
    # The truth has no upper limit on a nor lower limit on b: the box's are (nearly) open, and any
    # such limit PRIM drew while peeling away cases of no interest is flagged by its quasi-p.
    assert box.upper[a] >= 0.95 and box.lower[b] <= 0.05
    p_a, p_b = result.boxes[0].quasi_p["a"], result.boxes[0].quasi_p["b"]
    assert p_a[0] < 1e-6 and p_b[1] < 1e-6  # the true limits: very unlikely by chance
    assert box.upper[a] == x["a"].max() or p_a[1] > 0.05
    assert box.lower[b] == x["b"].min() or p_b[0] > 0.05
    # Coverage and density measured against the truth, independently of PRIM's own numbers.
    inside = (
        (x["a"] >= box.lower[a]) & (x["a"] <= box.upper[a])
        & (x["b"] >= box.lower[b]) & (x["b"] <= box.upper[b])
    ).to_numpy()  # fmt: skip
    assert np.array_equal(inside, box.inside)
    assert box.coverage == pytest.approx((inside & y).sum() / y.sum())
    assert box.density == pytest.approx((inside & y).sum() / inside.sum())
    assert box.coverage >= 0.9 and box.density >= 0.95
    assert box.mass == pytest.approx(inside.mean())
    assert result.base_rate == pytest.approx(y.mean())
    # Opening the limits the data do not support leaves exactly the true shape: a >= ~0.7, b <= ~0.3.
    opened = prim(x, y, objective=objective, max_quasi_p=0.05).boxes[0]
    assert set(opened.step.restricted) == {"a", "b"}
    assert opened.step.upper[a] == x["a"].max() and opened.step.lower[b] == x["b"].min()
    assert opened.step.lower[a] == box.lower[a] and opened.step.upper[b] == box.upper[b]
    assert opened.step.coverage >= box.coverage and opened.step.density == 1.0


def ema_prim(x: pd.DataFrame, y: np.ndarray, objective: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as ema

        kind = getattr(ema.PRIMObjectiveFunctions, objective.upper())
        return ema.Prim(x, y.astype(int), obj_function=kind, peel_alpha=0.05, paste_alpha=0.05,
                        mass_min=0.05)  # fmt: skip


@pytest.mark.parametrize(
    ("seed", "noise", "objective"),
    [(0, 0.0, "lenient1"), (1, 0.05, "lenient1"), (4, 0.08, "lenient1"), (3, 0.0, "original"),
     (1, 0.05, "original"), (5, 0.1, "original")],
)  # fmt: skip
def test_peeling_and_pasting_agree_with_the_ema_workbench(seed, noise, objective):
    x = uniform_cases(seed, n=400)
    flips = np.random.default_rng(seed + 100).random(len(x)) < noise
    y = true_box(x) ^ flips
    # EMA's find_box peels to the end, then pastes from the last peeled box.
    ema_box = ema_prim(x, y, objective).find_box()
    state = PrimState(x.to_numpy(float), y, list(x.columns), {**SETTINGS, "objective": objective})
    everyone = np.arange(len(x))
    peeled = state.peel(everyone)
    steps = peeled + state.paste(peeled[-1], everyone)
    theirs = ema_box.peeling_trajectory
    assert len(steps) == len(theirs)
    for column, attribute in (("n", "cases"), ("k", "of_interest"), ("coverage", "coverage"),
                              ("density", "density"), ("mass", "mass")):  # fmt: skip
        ours = [getattr(step, attribute) for step in steps]
        np.testing.assert_allclose(ours, theirs[column].to_numpy(float), rtol=1e-12)
    limits = ema_box.box_lim[list(x.columns)].to_numpy(float)
    np.testing.assert_allclose(steps[-1].lower, limits[0], rtol=1e-12)
    np.testing.assert_allclose(steps[-1].upper, limits[1], rtol=1e-12)
    assert np.array_equal(np.flatnonzero(steps[-1].inside), np.sort(ema_box.yi))


def test_on_tied_values_every_peel_and_paste_moves_cases_and_cuts_between_values():
    # Whole numbers 0-3 with many ties: a cut at a tied quantile would remove nothing.
    rng = np.random.default_rng(5)
    for trial in range(6):
        n = int(rng.integers(20, 60))
        x = pd.DataFrame({"a": rng.integers(0, 4, n), "b": rng.integers(0, 4, n)}).astype(float)
        y = ((x["a"] >= 2) ^ (rng.random(n) < 0.2)).to_numpy()
        if y.all() or not y.any():
            continue
        state = PrimState(x.to_numpy(), y, ["a", "b"], {**SETTINGS, "objective": "original"})
        everyone = np.arange(n)
        peeled = state.peel(everyone)
        pasted = state.paste(peeled[len(peeled) // 2], everyone)
        assert len(peeled) > 1, trial
        sizes = [step.cases for step in peeled]
        assert (np.diff(sizes) < 0).all(), sizes
        sizes = [peeled[len(peeled) // 2].cases] + [step.cases for step in pasted]
        assert (np.diff(sizes) > 0).all(), sizes
        for step in peeled[1:] + pasted:
            cut = np.concatenate([step.lower[step.lower > x.min().to_numpy()],
                                  step.upper[step.upper < x.max().to_numpy()]])  # fmt: skip
            assert np.all(cut % 1 == 0.5), cut  # midway between two whole numbers


def test_selection_rules_choose_on_the_trajectory():
    x = uniform_cases(7, n=600)
    y = true_box(x) ^ (np.random.default_rng(9).random(len(x)) < 0.03)
    for min_coverage in (0.3, 0.6, 0.9):
        result = prim(x, y, paste=False, min_coverage=min_coverage)
        table = trajectory_table(result)
        chosen = table[table["chosen"]].iloc[0]
        eligible = table[table["coverage"] >= min_coverage]
        assert chosen["coverage"] >= min_coverage
        assert chosen["density"] == eligible["density"].max()
    result = prim(x, y, paste=False, min_density=0.8)
    table = trajectory_table(result)
    chosen = table[table["chosen"]].iloc[0]
    assert chosen["density"] >= 0.8
    assert chosen["coverage"] == table.loc[table["density"] >= 0.8, "coverage"].max()
    # Nothing that dense: the densest box, said so.
    trajectory = result.boxes[0].trajectory
    index, rule = select_step(trajectory, min_density=1.01)
    assert trajectory[index].density == max(s.density for s in trajectory)
    assert "no box reaches" in rule


def test_pasting_only_widens_and_improves_the_chosen_box():
    x = uniform_cases(10, n=400)
    y = true_box(x) ^ (np.random.default_rng(11).random(len(x)) < 0.05)
    plain = prim(x, y, paste=False)
    pasted = prim(x, y, paste=True)
    peeled = len(plain.boxes[0].trajectory)
    ours = trajectory_table(pasted)
    pd.testing.assert_frame_equal(
        ours.iloc[:peeled].drop(columns="chosen"), trajectory_table(plain).drop(columns="chosen")
    )
    assert (ours["phase"].iloc[peeled:] == "paste").all() and len(ours) > peeled  # it pasted
    assert "then pasted" in pasted.boxes[0].selection
    before, after = plain.boxes[0].step, pasted.boxes[0].step
    assert np.all(after.lower <= before.lower) and np.all(after.upper >= before.upper)
    assert after.mass > before.mass and after.density > before.density
    assert after.restricted == before.restricted


def test_opening_limits_keeps_only_significant_ones():
    x = uniform_cases(10, n=400)
    y = true_box(x) ^ (np.random.default_rng(11).random(len(x)) < 0.05)
    kept = prim(x, y).boxes[0]
    opened = prim(x, y, max_quasi_p=0.05).boxes[0]
    assert len(opened.step.restricted) < len(kept.step.restricted)
    assert "opened" in opened.selection
    assert all(np.nanmax(sides) <= 0.05 for sides in opened.quasi_p.values())
    steps = [s for s in opened.trajectory if s.phase == "open"]
    low, high = x.min().to_numpy(), x.max().to_numpy()

    def closed_sides(step):
        return int(np.sum(step.lower != low) + np.sum(step.upper != high))

    for wider, narrower in zip(steps, [kept.step, *steps[:-1]], strict=True):
        assert np.all(wider.lower <= narrower.lower) and np.all(wider.upper >= narrower.upper)
        assert closed_sides(wider) == closed_sides(narrower) - 1  # one limit at a time
        assert wider.cases >= narrower.cases
    assert {"a", "b"} <= set(opened.step.restricted)


def test_covering_finds_a_second_box_among_the_remaining_cases():
    x = uniform_cases(21, n=1500)
    first = ((x["a"] > 0.6) & (x["b"] < 0.4)).to_numpy()
    second = ((x["c"] < 0.3) & (x["d"] > 0.7)).to_numpy()
    y = first | second
    result = prim(x, y, max_boxes=2)
    assert len(result.boxes) == 2
    # The limits that matter (quasi-p < 0.01 on some side): one box each.
    found = [sorted(name for name, sides in box.quasi_p.items() if np.nanmin(sides) < 0.01)
             for box in result.boxes]  # fmt: skip
    assert sorted(found) == [["a", "b"], ["c", "d"]]
    one, two = (box.step for box in result.boxes)
    assert not np.any(one.inside & two.inside)  # the second box ignores the first's cases
    assert one.coverage + two.coverage >= 0.9
    assert min(one.density, two.density) >= 0.9
    assert result.boxes[1].remaining_cases == len(x) - one.cases


def test_limits_of_whole_number_parameters_are_whole_and_hold_the_same_cases():
    rng = np.random.default_rng(7)
    x = pd.DataFrame({"units": rng.permutation(200).astype(float), "share": rng.random(200)})
    y = ((x["units"] >= 140) & (x["share"] < 0.6)).to_numpy()
    result = prim(x, y)
    step = result.boxes[0].step
    units = result.names.index("units")
    assert step.lower[units] % 1 == 0.5  # PRIM cuts midway between two whole numbers
    plain = boxes_table(result).set_index("parameter")
    whole = boxes_table(result, integers=("units",)).set_index("parameter")
    assert whole.loc["units", "low"] == math.ceil(step.lower[units])
    assert np.isnan(whole.loc["units", "high"])  # open: units >= 140 has no upper limit
    for side in ("low", "high"):  # other parameters as they are (NaN where open)
        assert whole.loc["share", side] == plain.loc["share", side] or (
            np.isnan(whole.loc["share", side]) and np.isnan(plain.loc["share", side])
        )
    assert np.array_equal(csv_box_holds(whole, x), step.inside)


def csv_box_holds(limits: pd.DataFrame, x: pd.DataFrame) -> np.ndarray:
    """Which cases a box read from boxes.csv holds: an empty (NaN) limit is open."""
    inside = np.ones(len(x), dtype=bool)
    for name, row in limits.iterrows():
        low = -np.inf if pd.isna(row["low"]) else row["low"]
        high = np.inf if pd.isna(row["high"]) else row["high"]
        inside &= (x[name].to_numpy() >= low) & (x[name].to_numpy() <= high)
    return inside


def test_boxes_csv_leaves_open_limits_open_as_the_report_does_audit_shown_d4(tmp_path):
    """An open side and an unrestricted parameter have no limit in boxes.csv (was the data's hull).

    The box of the CSV then keeps the cases the reported box keeps, beyond this sample too.
    """
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"units": rng.random(300) * 1000, "share": rng.random(300)})
    result = prim(x, (x["units"] >= 600).to_numpy(), paste=False)
    step = result.boxes[0].step
    limits = boxes_table(result).set_index("parameter")
    assert step.restricted == ("units",)
    units, share = limits.loc["units"], limits.loc["share"]
    assert 550 < units["low"] < 650 and not units["open_low"]
    assert np.isnan(units["high"]) and units["open_high"]  # the upper side was never cut
    assert np.isnan(share["low"]) and np.isnan(share["high"])  # unrestricted: open both sides
    assert share["open_low"] and share["open_high"] and not share["restricted"]
    written = tmp_path / "boxes.csv"
    boxes_table(result).to_csv(written, index=False)
    read = pd.read_csv(written).set_index("parameter")
    assert np.array_equal(csv_box_holds(read, x), step.inside)
    wider = pd.DataFrame({"units": [5000.0], "share": [-1.0]})  # outside this sample's hull
    assert csv_box_holds(read, wider).all()


def test_prim_refuses_bad_input():
    x = uniform_cases(0, n=20)
    with pytest.raises(ValueError, match="binary"):
        prim(x, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="one value per case"):
        prim(x, np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="peel_alpha"):
        prim(x, np.arange(20) % 2 == 0, peel_alpha=0.7)
    with pytest.raises(ValueError, match="allowed: original, lenient1, lenient2"):
        prim(x, np.arange(20) % 2 == 0, objective="best")


# A real (tiny) sweep --------------------------------------------------------------------------------
TINY_SWEEP = """
name = "tiny_discovery"
scenarios = ["baseline", "trade_corridor"]
replicates = 2
seed = 3
days = 20
series = false

[design]
kind = "lhs"
samples = 12

[parameters."fence.coverage"]
low = 0.5
high = 1.0

[parameters."patrols.units"]
low = 100
high = 1500
integer = true

[parameters."corridor.screening"]
low = 0.1
high = 0.9
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A real two-scenario LHS sweep of 20-day runs (48 runs), and a sweep with nothing varied."""
    folder = tmp_path_factory.mktemp("discovery")
    path = folder / "tiny.toml"
    path.write_text(TINY_SWEEP)
    from borderabm.scenario import resolve_relative

    store = ResultsStore(folder / "store")
    run_sweep(load_sweep(path, resolve_relative), store, workers=1)
    scenarios = REPO / "scenarios"
    plain = ResultsStore(folder / "compare")
    run_sweep(comparison_sweep([scenarios / "baseline.toml"], 1, 1, 3), plain, workers=1)
    return {"folder": folder, "store": store.root, "manifest": store.manifest(),
            "runs": store.runs(), "compare": plain.root}  # fmt: skip


def point_means(runs: pd.DataFrame, scenario: str, metric: str) -> pd.Series:
    return runs[runs["scenario"] == scenario].groupby("point")[metric].mean()


def invoke(*args):
    result = runner.invoke(app, ["discover", *map(str, args)], terminal_width=200)
    return result


def test_cli_finds_where_a_policy_costs_more_and_writes_its_files(tiny):
    runs = tiny["runs"]
    cost = point_means(runs, "baseline", "policy_cost_usd")
    threshold = float(cost.median())
    out = tiny["folder"] / "report"
    result = invoke(tiny["store"], "--scenario", "baseline", "--metric", "policy_cost_usd",
                    "--threshold", threshold, "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = result.output
    expected_rate = (cost > threshold).mean()
    assert f"base rate {expected_rate:.3f}" in printed
    assert f"{len(cost)} design points (mean of 2 replicates each)" in printed
    for word in ("box 1", "coverage", "density", "mass", "quasi-p", "patrols.units"):
        assert word in printed

    boxes = pd.read_csv(out / "boxes.csv")
    assert set(boxes["parameter"]) == {"fence.coverage", "patrols.units", "corridor.screening"}
    limits = boxes.set_index("parameter")
    # Units cost US$250k a year each, far more than the fence: the costly box is many units.
    assert limits.loc["patrols.units", "restricted"]
    assert limits.loc["patrols.units", "low"] > 100
    # patrols.units is `integer = true`: its limits are whole numbers (the recount below shows
    # they hold exactly the box's cases).
    assert float(limits.loc["patrols.units", "low"]).is_integer()
    high = float(limits.loc["patrols.units", "high"])
    assert high.is_integer() or (np.isnan(high) and limits.loc["patrols.units", "open_high"])
    # The box's numbers, recomputed from the store with the written limits.
    manifest_points = pd.DataFrame(tiny["manifest"]["design"]["points"]).loc[cost.index]
    inside = csv_box_holds(limits[["low", "high"]], manifest_points)
    of_interest = (cost > threshold).to_numpy()
    row = boxes.iloc[0]
    assert row["cases"] == inside.sum()
    assert row["coverage"] == pytest.approx((inside & of_interest).sum() / of_interest.sum())
    assert row["density"] == pytest.approx((inside & of_interest).sum() / inside.sum())
    assert row["density"] > row["base_rate"] == pytest.approx(expected_rate)

    trajectory = pd.read_csv(out / "trajectory.csv")
    assert trajectory["chosen"].sum() == 1
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["mass"].iloc[0] == 1.0
    report = (out / "discovery.md").read_text()
    assert "Policy cost (US$), baseline >" in report and "`patrols.units`" in report
    with Image.open(out / "trajectory.png") as image:
        image.load()
        assert image.format == "PNG" and image.size[0] >= 500
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 50


def test_cli_pairs_runs_for_a_difference_between_scenarios(tiny):
    runs = tiny["runs"]
    keys = ["point", "replicate"]
    corridor = runs[runs["scenario"] == "trade_corridor"].set_index(keys)["formal_trade_usd"]
    base = runs[runs["scenario"] == "baseline"].set_index(keys)["formal_trade_usd"]
    difference = (corridor - base).groupby(level="point").mean()
    threshold = float(difference.median())
    result = invoke(tiny["store"], "--scenario", "trade_corridor", "--relative-to", "baseline",
                    "--metric", "formal_trade_usd", "--threshold", threshold, "--below")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Formal trade (US$), trade_corridor − baseline <=" in result.output  # D5
    rate = (difference <= threshold).mean()
    assert f"{(difference <= threshold).sum()} of interest: base rate {rate:.3f}" in result.output
    # The reference scenario alone is enough when the store holds two; one case per run on request.
    per_run = invoke(tiny["store"], "--relative-to", "baseline", "--metric", "formal_trade_usd",
                     "--threshold", threshold, "--below", "--cases", "run")  # fmt: skip
    assert per_run.exit_code == 0, per_run.output
    run_rate = ((corridor - base) <= threshold).mean()
    assert f"{len(corridor)} runs; " in per_run.output
    assert f"base rate {run_rate:.3f}" in per_run.output


def test_discovery_is_deterministic(tiny):
    args = (tiny["store"], "--scenario", "baseline", "--metric", "formal_trade_usd", "--threshold",
            float(point_means(tiny["runs"], "baseline", "formal_trade_usd").median()))  # fmt: skip
    assert invoke(*args).output == invoke(*args).output


def error_of(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def test_bad_inputs_exit_2_with_a_clear_message(tiny, tmp_path):
    store = tiny["store"]
    base = ("--scenario", "baseline", "--metric", "attacks", "--threshold", "0")
    message = error_of(invoke(tmp_path, *base))
    assert "error:" in message and "not a results directory" in message
    message = error_of(invoke(store, "--scenario", "baseline", "--metric", "atacks",
                              "--threshold", "0"))  # fmt: skip
    assert "unknown metric 'atacks'" in message and "attacks" in message.split("allowed:")[1]
    message = error_of(invoke(store, "--scenario", "nowhere", "--metric", "attacks",
                              "--threshold", "0"))  # fmt: skip
    assert "unknown scenario 'nowhere' (allowed: baseline, trade_corridor)" in message
    message = error_of(invoke(store, "--metric", "attacks", "--threshold", "0"))
    assert "choose one with --scenario (allowed: baseline, trade_corridor)" in message
    message = error_of(invoke(store, "--scenario", "baseline", "--relative-to", "baseline",
                              "--metric", "attacks", "--threshold", "0"))  # fmt: skip
    assert "another scenario" in message
    cost = point_means(tiny["runs"], "baseline", "policy_cost_usd")
    message = error_of(invoke(store, "--scenario", "baseline", "--metric", "policy_cost_usd",
                              "--threshold", cost.max() * 2))  # fmt: skip
    assert "no case of 12 has Policy cost (US$), baseline >" in message
    message = error_of(invoke(store, "--scenario", "baseline", "--metric", "policy_cost_usd",
                              "--threshold", cost.max() * 2, "--below"))  # fmt: skip
    assert "every case of 12" in message
    message = error_of(invoke(tiny["compare"], "--metric", "attacks", "--threshold", "0"))
    assert "varies no parameters" in message
    message = error_of(invoke(store, *base, "--cases", "scenario"))
    assert "allowed: point, run" in message
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    message = error_of(invoke(store, *base, "--out", blocker / "sub"))
    assert f"{blocker / 'sub'}: cannot write outputs" in message.replace("\n", "")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    assert f"{broken / 'manifest.json'}: cannot read" in one_line(error_of(invoke(broken, *base)))


def one_line(message: str) -> str:
    """Undo the console's wrapping of long paths and messages."""
    return message.replace("\n", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[1, 2]", "not a sweep manifest: a JSON object was expected, got an array"),
     ('"sweep"', "not a sweep manifest: a JSON object was expected, got a string"),
     ('{"design": [1]}', "design: a JSON object was expected, got an array"),
     ('{"design": {"parameters": {"a": {}}, "points": 3}}',
      "design.points: a JSON array was expected, got a number")],
)  # fmt: skip
def test_a_manifest_that_is_json_but_not_a_manifest_exits_2(tmp_path, text, expected):
    (tmp_path / "manifest.json").write_text(text)
    message = one_line(error_of(invoke(tmp_path, "--metric", "attacks", "--threshold", "0")))
    assert f"error: {tmp_path / 'manifest.json'}: {expected}" in message


def test_a_corrupt_run_file_exits_2_naming_it(tiny, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(tiny["store"], store)
    victim = sorted((store / "runs").glob("*.parquet"))[3]
    victim.write_bytes(b"not parquet at all")
    message = one_line(error_of(invoke(store, "--scenario", "baseline", "--metric", "attacks",
                                       "--threshold", "0")))  # fmt: skip
    assert f"error: {victim}: cannot read this run row" in message
    assert "Traceback" not in message


def test_the_installed_command_reports_errors_without_a_traceback(tiny):
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    done = subprocess.run([exe, "discover", str(tiny["store"]), "--scenario", "baseline",
                           "--metric", "nope", "--threshold", "1"], capture_output=True,
                          text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert "error:" in done.stderr and "unknown metric 'nope'" in done.stderr


def test_the_shipped_corridor_sweep_asks_its_question_with_real_keys():
    from borderabm.scenario import resolve_relative

    sweep = load_sweep(REPO / "sweeps" / "corridor_discovery.toml", resolve_relative)
    assert sorted(sweep.scenario_files) == ["baseline", "trade_corridor"]
    assert sweep.spec.design.kind == "lhs" and sweep.spec.replicates >= 2
    assert {"corridor.screening", "militants.corridor_misuse_share"} <= set(sweep.spec.parameters)
    # Every design point is a valid scenario for both (load_sweep validates each run), and the
    # runs of the two scenarios pair up on design point and seed.
    pairs = {}
    for run in sweep.runs:
        pairs.setdefault((run.point, run.replicate), set()).add((run.scenario, run.seed))
    assert all(
        len({seed for _, seed in group}) == 1 and len(group) == 2 for group in pairs.values()
    )
    assert "attacks" in sweep.spec.metrics


def test_without_the_workbench_discover_exits_2_saying_how_to_install_it(tiny, monkeypatch):
    for name in ("ema_workbench", "ema_workbench.analysis", "ema_workbench.analysis.prim"):
        monkeypatch.setitem(sys.modules, name, None)  # as if the optional extra were not installed
    cost = point_means(tiny["runs"], "baseline", "policy_cost_usd")
    message = one_line(error_of(invoke(tiny["store"], "--scenario", "baseline", "--metric",
                                       "policy_cost_usd", "--threshold", cost.median())))  # fmt: skip
    assert "error:" in message and "pip install 'ema-workbench>=3.0,<3.1'" in message
    assert "Traceback" not in message
