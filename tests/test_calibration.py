"""Calibration (ABC on a Latin hypercube with a quadratic surrogate) on the real model and map.

The self-consistency test makes a target from the model's own output at a known parameter value and
checks that calibration finds it back; the rest check the spec errors, the report files, the
fitted scenario file and determinism.
"""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.analysis.calibration import run_calibration
from borderabm.analysis.calibration.fitting import MIN_ACCEPTED
from borderabm.analysis.calibration.runs import design_points, design_sweep, quantity, simulate
from borderabm.analysis.calibration.spec import REFUGEE_STOCK, TargetSpec, load_calibration
from borderabm.analysis.calibration.surrogate import deviations, fit_surrogate
from borderabm.apps.cli.main import app
from borderabm.experiments.store import ResultsStore
from borderabm.report.calibration import FILES
from borderabm.scenario import ScenarioError, load_scenario, resolve_relative, with_overrides
from borderabm.scenario.toml_write import set_toml_values
from tests.conftest import REPO, SCENARIOS

runner = CliRunner()
TRUTH = 400  # consignments in circulation: the value calibration must find back
PRIOR = (150, 1200)
DAYS = 60
# A small world of the real map: few agents, so a run takes a fraction of a second.
SMALL = {
    "population.refugees": 255,
    "population.communities": 45,
    "population.militants": 40,
    "horizon_days": DAYS,
}

SPEC = """
name = "selfcheck"
description = "find population.traders back from the model's own trade"
scenario = "small.toml"
seed = 1
days = {days}
replicates = 2
verify_replicates = 3

[design]
samples = 12
accept_share = 0.25
surrogate_draws = 4000
refine_samples = 6
candidates = 2

[parameters."population.traders"]
low = {low}
high = {high}
integer = true
log = true
source = "test"

[targets.trade]
label = "trade made by the model itself at {truth} traders"
metric = "formal_trade_usd"
statistic = "per_year"
value = {value}
low = {tol_low}
high = {tol_high}
unit = "US$/year"
source = "the model's own output (self-consistency)"

[targets.capacity]
label = "Torkham capacity (input check)"
role = "check"
metric = "crossings.Torkham.capacity_people_per_day"
statistic = "input"
value = 25000
low = 20000
high = 30000
source = "issue 6"

[targets.stock]
label = "Afghans in Pakistan (derived series check)"
role = "check"
metric = "refugee_stock_pakistan"
statistic = "max"
value = 9000
low = 6000
high = 15000
source = "test: 70% of 255 refugee groups x 50 people start in Pakistan; at most 300 x 50"
scenario = {{ "fence.coverage" = 0.0 }}
"""


def small_scenario(folder):
    """The baseline file with a small population, written beside the spec (keeps its comments)."""
    text = (SCENARIOS / "baseline.toml").read_text()
    text = set_toml_values(text, {k: v for k, v in SMALL.items() if "." in k})
    text = text.replace("horizon_days = 365", f"horizon_days = {DAYS}")
    (folder / "small.toml").write_text(text)
    return folder / "small.toml"


def own_trade(path, traders: int) -> float:
    """Formal trade per year made by the model at a given trader population (3 seeds)."""
    settings = with_overrides(load_scenario(path), {"population.traders": traders}, "test")
    runs = simulate(settings, [11, 12, 13])
    return float(np.mean([s["formal_trade_usd"] * 365 / s["days"] for s, _ in runs]))


def write_spec(folder, value, name="spec.toml", changes=None):
    """The self-consistency spec around a target value (±15%), with optional text changes."""
    text = SPEC.format(days=DAYS, low=PRIOR[0], high=PRIOR[1], truth=TRUTH, value=value,
                       tol_low=0.85 * value, tol_high=1.15 * value)  # fmt: skip
    for old, new in (changes or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """One calibration through the command line, on a target the model made itself."""
    folder = tmp_path_factory.mktemp("calibration")
    small = small_scenario(folder)
    value = own_trade(small, TRUTH)
    spec = write_spec(folder, value)
    out = folder / "out"
    result = runner.invoke(app, ["calibrate", str(spec), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return {"folder": folder, "spec": spec, "out": out, "value": value, "output": result.stdout}


def test_posterior_contains_the_truth_and_excludes_far_values(calibrated):
    out = calibrated["out"]
    posterior = pd.read_csv(out / "posterior.csv")
    low, high = posterior["population.traders"].quantile([0.05, 0.95])
    assert low <= TRUTH <= high
    # The prior runs from 150 to 1,200 (×8); the posterior must be much narrower around 400.
    assert low > 250 and high < 650, (low, high)
    design = pd.read_csv(out / "design.csv")
    assert list(design["wave"].value_counts().sort_index()) == [12, 6]
    assert design["accepted"].sum() == 3 and not design.loc[design["wave"] == 2, "accepted"].any()
    # ABC rejection on the simulations agrees: the accepted points are the ones nearest the truth.
    first = design[design["wave"] == 1]
    accepted = first.loc[first["accepted"], "population.traders"]
    rejected = first.loc[~first["accepted"], "population.traders"]
    assert np.abs(np.log(accepted / TRUTH)).max() < np.abs(np.log(rejected / TRUTH)).min()
    # The second wave went where the first could not rule out a fit: nearer the truth.
    second = design.loc[design["wave"] == 2, "population.traders"]
    assert np.abs(np.log(second / TRUTH)).mean() < np.abs(np.log(first["population.traders"]
                                                                  / TRUTH)).mean()  # fmt: skip


def test_fitted_point_reproduces_the_target_on_fresh_seeds(calibrated):
    fitted = load_scenario(calibrated["out"] / "baseline_fitted.toml")
    traders = fitted.population.traders
    assert 250 < traders < 650
    report = (calibrated["out"] / "calibration.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| trade |"))
    assert "| yes |" in row, row


def test_cli_writes_every_report_file_and_a_faithful_fitted_scenario(calibrated):
    out = calibrated["out"]
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "calibration.html").read_text()
    assert page.count("<html") == 1 and "data:image/png;base64," in page
    report = (out / "calibration.md").read_text()
    for target in ("trade", "capacity", "stock"):
        assert f"| {target} |" in report
    assert "posterior 5–95%" in report and "`population.traders`" in report
    # The brackets are a confidence interval of the mean over the verification seeds, and say so.
    assert "model mean [95% CI of the mean, " in report and "95% interval" not in report
    # The fitted file is the base file with the fitted value written in, comments kept.
    text = (out / "baseline_fitted.toml").read_text()
    assert text.startswith("# Written by `borderabm calibrate` on ")
    assert str(calibrated["spec"]) in text.splitlines()[0]
    base_text = (calibrated["folder"] / "small.toml").read_text()
    kept = [line for line in base_text.splitlines() if line.lstrip().startswith("#")]
    assert kept and all(line in text for line in kept)
    fitted = load_scenario(out / "baseline_fitted.toml")
    base = load_scenario(calibrated["folder"] / "small.toml")
    assert fitted.model_dump(exclude={"population"}) == base.model_dump(exclude={"population"})
    assert fitted.population.model_dump(exclude={"traders"}) == base.population.model_dump(
        exclude={"traders"}
    )
    # The command prints the fit per target and the posterior ranges.
    assert "fit per target" in calibrated["output"] and "population.traders" in calibrated["output"]


def test_checks_are_reported_with_their_model_values(calibrated):
    report = (calibrated["out"] / "calibration.md").read_text()
    capacity = next(line for line in report.splitlines() if line.startswith("| capacity |"))
    assert "25,000 [25,000 – 25,000]" in capacity and "| yes |" in capacity
    stock = next(line for line in report.splitlines() if line.startswith("| stock |"))
    # 70% of the 85% non-community groups start in Pakistan: about 0.6 x 300 groups x 50 people.
    settings = load_scenario(calibrated["folder"] / "small.toml")
    start = simulate(with_overrides(settings, {"horizon_days": 1}, "t"), [1], derived=True)
    first_day = start[0][1][REFUGEE_STOCK].iloc[0]
    assert 0.4 * 300 * 50 < first_day < 0.8 * 300 * 50
    # The check's model value (a yearly maximum on other seeds, without the fence) is at least
    # about that first day's stock, and never more than every refugee group's people.
    model_cell = stock.split("|")[6]
    reported_max = float(model_cell.split("[")[0].replace(",", ""))
    assert 0.85 * first_day <= reported_max <= 300 * 50, (reported_max, first_day)
    assert "| yes |" in stock


def test_same_spec_and_seed_give_the_same_fit(calibrated, tmp_path):
    calibration = load_calibration(calibrated["spec"], resolve_relative)
    # The fixture ran on one worker; two worker processes must give the same design and fit.
    again, _ = run_calibration(calibration, ResultsStore(tmp_path / "again"), workers=2)
    first = load_scenario(calibrated["out"] / "baseline_fitted.toml")
    assert again.fitted == {"population.traders": first.population.traders}
    # The fitted point is the candidate that fitted best on the selection seeds.
    chosen = again.candidates[again.candidates["chosen"]]
    assert len(again.candidates) == 2 and len(chosen) == 1
    assert chosen["selection.distance"].iloc[0] == again.candidates["selection.distance"].min()
    assert chosen["population.traders"].iloc[0] == first.population.traders
    before = pd.read_csv(calibrated["out"] / "design.csv")
    pd.testing.assert_frame_equal(again.design.reset_index(drop=True), before, check_dtype=False)
    # A different seed draws another design (and so, in general, other runs).
    other = load_calibration(write_spec(calibrated["folder"], calibrated["value"],
                                            "seed2.toml", {"seed = 1": "seed = 2"}),
                                 resolve_relative)  # fmt: skip
    assert design_points(other) != design_points(calibration)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("metric = \"formal_trade_usd\"", "metrik = \"formal_trade_usd\""),
         ["targets.trade.metrik: unknown key; did you mean 'metric'?", "(allowed: "]),
        (("[parameters.\"population.traders\"]", "[parameters.\"population.trader\"]"),
         ["parameters.\"population.trader\".low: population.trader: unknown key; did you mean "
          "'traders'?", "(allowed: "]),
        (("high = 1200", "high = 9000000"),
         ["parameters.\"population.traders\".high: population.traders: 9000000.0 is out of "
          "range (allowed: >= 0 and <= 5000000)"]),
        (("low = 150", "low = -5"),
         ["parameters.\"population.traders\": a log-uniform prior needs 'low' > 0 (got -5.0)"]),
        (("metric = \"formal_trade_usd\"", "metric = \"formal_trade\""),
         ["targets.trade.metric: unknown metric 'formal_trade'; did you mean 'formal_trade_usd'?",
          "(allowed: run totals "]),
        (("statistic = \"per_year\"", "statistic = \"yearly\""),
         ["targets.trade.statistic: Input should be 'total', 'per_year'"]),
        (("samples = 12", "samples = 4"),
         ["design.samples: 4 points are too few for a quadratic surrogate of 1 parameters "
          "(allowed: >= 5)"]),
        (("role = \"check\"\nmetric = \"crossings", "role = \"fitted\"\nmetric = \"crossings"),
         ["targets.capacity.role: Input should be 'fit' or 'check'"]),
        (("scenario = {", "scenario = { \"fence.coverag\" = 1.0, "),
         ["targets.stock.scenario: fence.coverag: unknown key; did you mean 'coverage'?"]),
        (("verify_replicates = 3", "verify_replicates = 1001"),
         ["verify_replicates: Input should be less than or equal to 1000 (got 1001) (allowed: "
          "<= 1000)"]),
        (("replicates = 2", "replicates = 1001"),
         ["replicates: Input should be less than or equal to 1000 (got 1001) (allowed: <= 1000)"]),
        (("[parameters.\"population.traders\"]",
          "[parameters.\"crossings.Torkham.capacity_people_per_day\"]"),
         ["parameters.\"crossings.Torkham.capacity_people_per_day\": cannot be written into "
          "the fitted scenario file (allowed: "]),
    ],
)  # fmt: skip
def test_spec_errors_name_the_file_the_key_and_what_is_allowed(tmp_path, change, expected):
    small_scenario(tmp_path)
    spec = write_spec(tmp_path, 1e8, changes=dict([change]))
    result = runner.invoke(app, ["calibrate", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    for part in expected:
        assert f"error: {spec}: " in result.stderr
        assert part in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing was run or written


def test_bad_spec_file_exits_2_without_traceback_in_a_real_process(tmp_path):
    spec = tmp_path / "broken.toml"
    spec.write_text(
        'name = "x"\nscenario = "baseline"\n[parameters."population.traders"]\nlow = 1\n'
    )
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    done = subprocess.run([exe, "calibrate", str(spec)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert f'error: {spec}: parameters."population.traders".high: required key is missing' in (
        done.stderr
    )
    # All problems of one file on its one error line.
    assert "; targets: required key is missing" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_shipped_spec_is_valid_and_cites_a_source_for_every_target():
    calibration = load_calibration(REPO / "calibration" / "baseline.toml", resolve_relative)
    spec = calibration.spec
    assert {t.role for t in spec.targets.values()} == {"fit", "check"}
    assert all(t.source.strip() and t.mapping.strip() for t in spec.targets.values())
    # Fitted to one year of the history, 2024 (a leap year), and to nothing else.
    assert calibration.base.start_date.isoformat() == "2024-01-01"
    assert calibration.base.horizon_days == calibration.spec.days == 366


def test_set_toml_values_edits_in_place_and_adds_what_is_missing():
    text = '# head\nname = "x"\n\n[scale]\nusd_per_consignment = 20000 # note\n\n[[triggers]]\n'
    edited = set_toml_values(
        text,
        {
            "scale.usd_per_consignment": 25500.0,
            "scale.fighters_per_cell": 4,
            "population.traders": 1800,
        },  # fmt: skip
    )
    assert "usd_per_consignment = 25500.0 # note" in edited
    assert "[scale]\nusd_per_consignment = 25500.0 # note\nfighters_per_cell = 4\n" in edited
    assert edited.index("[population]") < edited.index("[[triggers]]")
    import tomllib

    document = tomllib.loads(edited)
    assert document["population"]["traders"] == 1800
    with pytest.raises(ValueError, match="section.key"):
        set_toml_values(text, {"crossings.Torkham.open": False})


def test_surrogate_and_distance_on_known_functions():
    rng = np.random.default_rng(0)
    unit = rng.random((40, 2))
    y = 3.0 + 2.0 * unit[:, 0] - unit[:, 1] ** 2 + 0.5 * unit[:, 0] * unit[:, 1]
    surrogate = fit_surrogate(unit, y)
    assert surrogate.log and surrogate.q2 > 0.95  # positive: fitted on the log scale
    assert np.allclose(surrogate.predict(unit), y, rtol=0.02)
    linear = fit_surrogate(unit, y - 4.0)  # takes both signs: fitted as it is, exactly
    assert not linear.log and linear.r2 == pytest.approx(1.0)
    target = TargetSpec(label="t", metric="m", value=10, low=5, high=20, source="s")
    z = deviations(np.array([[10.0], [20.0], [5.0], [40.0], [np.nan]]), [target])[:, 0]
    assert list(z[:4]) == [0.0, 1.0, -1.0, 3.0] and np.isinf(z[4])


def test_a_daily_statistic_without_the_runs_series_is_named_not_a_none_crash():
    target = TargetSpec(label="t", metric="m", statistic="mean", value=10, low=5, high=20,
                        source="s")  # fmt: skip
    with pytest.raises(ValueError, match="the mean of m needs the run's daily series"):
        quantity(target, {"days": 3.0}, None, load_scenario(SCENARIOS / "baseline.toml"))


def test_per_gate_statistics_divide_by_the_days_the_gate_was_open_or_closed():
    series = pd.DataFrame({"trade_lost_usd.Torkham": [0.0, 3e6, 2e6, 1e6, 0.0],
                           "open.Torkham": [1, 0, 0, 0, 1]})  # fmt: skip
    settings = load_scenario(SCENARIOS / "baseline.toml")

    def value(statistic: str) -> float:
        target = TargetSpec(label="t", role="check", metric="trade_lost_usd.Torkham",
                            statistic=statistic, value=3e6, low=2e6, high=4e6, source="s")  # fmt: skip
        return quantity(target, {"days": 5.0}, series, settings)

    assert value("per_closed_day") == 2e6  # 6 M over the 3 closed days
    assert value("per_open_day") == 3e6  # the run's total over the 2 open days


def test_a_store_of_another_design_is_refused_and_an_edited_tolerance_reuses_it(calibrated):
    from borderabm.experiments.store import ResultsStore
    from borderabm.experiments.sweep import run_sweep

    other = write_spec(calibrated["folder"], calibrated["value"], "other.toml",
                       {"samples = 12": "samples = 13"})  # fmt: skip
    result = runner.invoke(app, ["calibrate", str(other), "--out", str(calibrated["out"])])
    assert result.exit_code == 2
    assert "holds results of a different sweep" in result.stderr
    # Tolerances, sources, comments and the acceptance share do not decide the runs: reused.
    edited = write_spec(calibrated["folder"], calibrated["value"] * 1.02, "edited.toml", {
        "accept_share = 0.25": "accept_share = 0.5", 'source = "test"': 'source = "edited"',
        "[design]": "# a new comment\n[design]",
    })  # fmt: skip
    calibration = load_calibration(edited, resolve_relative)
    store = ResultsStore(calibrated["out"] / "store")
    assert run_sweep(design_sweep(calibration), store, workers=1) == 0
    with pytest.raises(ScenarioError, match="no such file"):
        load_calibration(calibrated["folder"] / "missing.toml", resolve_relative)


CONFLICT = """[targets.triple]
label = "three times the trade target: no point can meet both"
metric = "formal_trade_usd"
statistic = "per_year"
value = {value}
low = {low}
high = {high}
source = "test (conflicting on purpose)"

[targets.capacity]"""


def test_conflicting_targets_fall_back_to_the_least_implausible_draws(tmp_path):
    """An empty plausible region and no simulated point within tolerance still give a fit."""
    small_scenario(tmp_path)
    value = 2e8
    spec = write_spec(tmp_path, value, changes={
        "[targets.capacity]": CONFLICT.format(value=3 * value, low=2.55 * value,
                                              high=3.45 * value),
        "replicates = 2": "replicates = 1", "verify_replicates = 3": "verify_replicates = 2",
        "samples = 12": "samples = 6", "refine_samples = 6": "refine_samples = 3",
        "candidates = 2": "candidates = 1", "days = 60": "days = 30",
    })  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(app, ["calibrate", str(spec), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    design = pd.read_csv(out / "design.csv")
    z = deviations(design[["trade", "triple"]].to_numpy(),
                       list(load_calibration(spec, resolve_relative).spec
                            .fitted_targets().values()))  # fmt: skip
    assert not np.all(np.abs(z) <= 1, axis=1).any()  # no simulated point met both targets
    posterior = pd.read_csv(out / "posterior.csv")
    report = (out / "calibration.md").read_text()
    assert "least implausible draws were scored instead" in report
    # The report states the real size of the posterior, not a nominal one.
    assert f"the posterior is the {len(posterior):,} scored draws closest" in report
    assert 0 < len(posterior) <= MIN_ACCEPTED
    assert (out / "store" / "manifest.json").exists()


def test_shared_latin_hypercube_samples_log_priors_on_a_log_scale():
    """designs.generate('lhs') (the calibration design) stratifies log priors in log space."""
    from borderabm.experiments.designs import Parameter, from_unit, generate, to_unit

    parameters = [
        Parameter("a.b", low=10.0, high=1000.0, log=True),
        Parameter("c.d", low=0, high=1),
    ]
    points = generate("lhs", parameters, 20, seed=3)
    logged = np.log10([p["a.b"] for p in points])
    # One point in each twentieth of [1, 3] in log10, and of [0, 1] on the linear scale.
    assert sorted(np.floor((logged - 1) / 2 * 20).astype(int)) == list(range(20))
    assert sorted(np.floor(np.array([p["c.d"] for p in points]) * 20).astype(int)) == list(
        range(20)
    )
    values = np.array([[p["a.b"], p["c.d"]] for p in points])
    assert np.allclose(from_unit(parameters, to_unit(parameters, values)), values)
    with pytest.raises(ValueError, match="only lhs designs sample on a log scale"):
        generate("sobol", parameters, 8, seed=3)


TINY = {"replicates = 2": "replicates = 1", "verify_replicates = 3": "verify_replicates = 2",
        "samples = 12": "samples = 6", "refine_samples = 6": "refine_samples = 0",
        "candidates = 2": "candidates = 1", "days = 60": "days = 20"}  # fmt: skip


def test_no_scorable_draw_is_an_error_line_and_the_runs_are_kept(tmp_path, monkeypatch):
    """A surrogate that predicts nothing finite leaves no posterior: `error:`, exit 2, store kept."""
    from borderabm.analysis.calibration import surrogate as calibration_surrogate

    small_scenario(tmp_path)
    spec = write_spec(tmp_path, 1e8, changes=TINY)
    monkeypatch.setattr(calibration_surrogate.Surrogate, "predict",
                        lambda self, unit: np.full(len(unit), np.nan))  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(app, ["calibrate", str(spec), "--workers", "1", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"error: {spec}: no prior draw has a finite predicted distance" in result.stderr
    assert "Traceback" not in result.output
    assert len(list((out / "store" / "runs").glob("*.parquet"))) == 6  # every design run kept
    assert not (out / "calibration.md").exists()


def test_an_unreachable_dask_scheduler_is_not_reported_as_a_write_error(tmp_path):
    import dask
    import distributed  # noqa: F401 - load its config defaults first, or leaving the `with` drops them

    small_scenario(tmp_path)
    spec = write_spec(tmp_path, 1e8, changes=TINY)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = runner.invoke(app, ["calibrate", str(spec), "--dask", "tcp://127.0.0.1:9",
                                     "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "error: tcp://127.0.0.1:9: cannot use the Dask scheduler" in result.stderr
    assert "cannot write" not in result.stderr and "Traceback" not in result.output
