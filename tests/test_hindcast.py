"""``borderabm hindcast``: a reduced run through the real CLI, and the pieces it is made of.

The reduced run (two years, 2 posterior draws x 1 replicate, two worker processes) is checked
against direct runs of the same draws and seeds in this process: what the report shows is what the
daily series give, whatever the engine. Fiscal years, the error score and bad input are checked on
small hand-made examples.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.analysis.hindcast import (
    PUBLISHED_FILE,
    SERIES,
    Draw,
    HindcastError,
    Published,
    YearEstimate,
    apply_draw,
    is_miss,
    load_published,
    mean_abs_log_ratio,
    period,
    read_posterior,
    share_inside,
    yearly_statistics,
)
from borderabm.apps.cli.main import app
from borderabm.experiments.run import run_one
from borderabm.report.format import estimate_text
from borderabm.scenario import load_scenario, with_overrides
from tests.test_bad_input_cli import error_of

runner = CliRunner()
POSTERIOR = Path(__file__).resolve().parents[1] / "docs" / "calibration" / "posterior.csv"
# The 2024 calibration targets (real-figures.md, "How to use this sheet") and the targets' own
# sources or bounds: calibration rows. The fence is an input. Everything else is held out.
CALIBRATION_ROWS = {
    ("attacks_kp", 2024), ("attacks_balochistan", 2024),
    ("formal_trade_usd", 2024), ("formal_trade_usd", 2025),
    ("torkham_people_per_open_day", 2019), ("torkham_people_per_open_day", 2024),
    ("torkham_people_per_open_day", 2025),
    ("torkham_trucks_per_open_day", 2019), ("torkham_trucks_per_open_day", 2022),
    ("torkham_trucks_per_open_day", 2024), ("chaman_trucks_per_open_day", 2024),
    ("registered_refugees", 2024), ("registered_refugees", 2025),
}  # fmt: skip
TWO_YEARS = 'name = "two_years"\nstart_date = 2023-01-01\nhorizon_days = 731\n'


def invoke(*args: object):
    return runner.invoke(app, ["hindcast", *(str(a) for a in args)])


NOT_COMPARED_EXTRA = """
[[not_compared]]
figure = "a figure only this file lists"
source = "test"
why = "the report lists the not-compared figures of the file given with --published"
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hindcast") / "two_years.toml"
    path.write_text(TWO_YEARS)
    return path


@pytest.fixture(scope="module")
def reduced(scenario_file, tmp_path_factory) -> Path:
    """The reduced hindcast's report folder: 2023-2024, 2 draws x 1 replicate, 2 workers."""
    out = tmp_path_factory.mktemp("report")
    # The shipped figures plus one "not compared" entry: the report lists that file's entries.
    published = out.parent / "published.toml"
    published.write_text(PUBLISHED_FILE.read_text() + NOT_COMPARED_EXTRA)
    result = invoke("--scenario", scenario_file, "--draws", 2, "--replicates", 1, "--workers", 2,
                    "--posterior", POSTERIOR, "--start-year", 2023, "--end-year", 2024,
                    "--seed", 7, "--out", out, "--published", published)  # fmt: skip
    assert result.exit_code == 0, (result.exception, result.stderr)
    return out


def test_reduced_run_writes_the_report(reduced):
    for name in ("hindcast.md", "hindcast.html", "hindcast.csv", "runs.csv"):
        assert (reduced / name).stat().st_size > 0
    assert "a figure only this file lists" in (reduced / "hindcast.md").read_text()
    for spec in SERIES:
        assert (reduced / f"hindcast-{spec.key}.png").read_bytes()[:4] == b"\x89PNG"
    markdown = (reduced / "hindcast.md").read_text()
    assert "mean absolute log ratio" in markdown and "inside the published spread" in markdown
    numbers = pd.read_csv(reduced / "hindcast.csv")
    assert set(numbers["year"]) == {2023, 2024}
    assert (numbers.loc[numbers["role"] == "calibration", "year"] == 2024).all()
    assert (numbers[["model_mean", "model_low", "model_high"]].fillna(0) >= 0).all().all()


def test_report_numbers_are_those_of_direct_runs(reduced, scenario_file):
    """Each shown number is the mean of the runs' values, recomputed here from the daily series."""
    runs = pd.read_csv(reduced / "runs.csv")
    numbers = pd.read_csv(reduced / "hindcast.csv").set_index(["series", "year"])
    posterior = read_posterior(POSTERIOR)
    scenario = load_scenario(scenario_file)
    direct: dict[tuple[str, int], list[float]] = {}
    for (draw, row, seed), _ in runs.groupby(["draw", "posterior_row", "seed"]):
        values = {str(k): float(v) for k, v in posterior.iloc[int(row)].items()}
        settings = with_overrides(apply_draw(scenario, Draw(int(draw), int(row), values), "test"),
                                  {"seed": int(seed)}, "test")  # fmt: skip
        daily = run_one(settings).timeseries.copy()
        daily["year"] = pd.to_datetime(daily["date"]).dt.year
        by_year = daily.groupby("year")
        torkham_open = daily[daily["open.Torkham"] > 0].groupby("year")
        expected = {
            "attacks_kp": by_year["attacks_kp"].sum(),
            "attacks_balochistan": by_year["attacks_balochistan"].sum(),
            "formal_returns": by_year["formal_returns"].sum(),
            "deported_people": by_year["deported_people"].sum(),
            "registered_refugees": by_year["registered_refugees"].mean(),
            "fence_share": by_year["fence_share"].last(),
            "torkham_people_per_day": by_year["gate_people.Torkham"].mean(),
            "torkham_people_per_open_day": torkham_open["gate_people.Torkham"].mean(),
            "torkham_trucks_per_open_day": torkham_open["gate_trucks.Torkham"].mean(),
        }
        for key, per_year in expected.items():
            for year in (2023, 2024):
                direct.setdefault((key, year), []).append(float(per_year[year]))
        fiscal = daily[(daily["date"] >= "2023-07-01") & (daily["date"] <= "2024-06-30")]
        direct.setdefault(("formal_trade_usd", 2024), []).append(fiscal["formal_trade_usd"].sum())
    markdown = (reduced / "hindcast.md").read_text()
    for (key, year), values in direct.items():
        shown = numbers.loc[(key, year)]
        assert shown["model_mean"] == pytest.approx(np.mean(values), rel=1e-9, abs=1e-9), key
        assert shown["runs"] == 2
        cell = estimate_text(shown["model_mean"], shown["model_low"], shown["model_high"])
        assert f"| {year} | {cell} |" in markdown, (key, year, cell)
    # FY2023 (Jul 2022 - Jun 2023) is not covered by a run starting in 2023: no number.
    assert math.isnan(numbers.loc[("formal_trade_usd", 2023), "model_mean"])


def test_fiscal_years_run_july_to_june():
    dates = pd.date_range("2022-07-01", "2024-06-30", freq="D")
    # One US$ a day from July to December, ten from January to June: FY totals tell them apart.
    trade = np.where(dates.month >= 7, 1.0, 10.0)
    frame = pd.DataFrame({"date": dates, "formal_trade_usd": trade})
    stats = yearly_statistics(frame, [2023, 2024, 2025], [SERIES[2]])["formal_trade_usd"]
    assert stats[2023] == 184 * 1.0 + 181 * 10.0  # Jul-Dec 2022 + Jan-Jun 2023
    assert stats[2024] == 184 * 1.0 + 182 * 10.0  # Jul-Dec 2023 + Jan-Jun 2024 (leap year)
    assert math.isnan(stats[2025])  # Jul 2024 - Jun 2025 is not in the series
    assert period("fiscal_sum", 2015) == (dt.date(2014, 7, 1), dt.date(2015, 6, 30))


def test_partial_years_and_missing_columns_have_no_number():
    dates = pd.date_range("2023-03-01", "2024-12-31", freq="D")
    frame = pd.DataFrame(
        {"date": dates, "attacks_kp": 1.0, "fence_share": np.linspace(0, 1, len(dates))}
    )
    stats = yearly_statistics(frame, [2023, 2024], SERIES)
    assert math.isnan(stats["attacks_kp"][2023]) and stats["attacks_kp"][2024] == 366
    assert stats["fence_share"][2024] == 1.0  # the value on 31 December
    assert stats["fence_share"][2023] == pytest.approx(305 / (len(dates) - 1))
    assert math.isnan(stats["formal_returns"][2024])  # no such column in this frame


def test_error_score_by_hand():
    # |ln 2| and |ln 1/2|; NaN and a zero model value are left out.
    assert mean_abs_log_ratio([200, 50, math.nan, 0], [100, 100, 5, 3]) == pytest.approx(
        math.log(2)
    )
    assert mean_abs_log_ratio([110], [100]) == pytest.approx(math.log(1.1))
    assert math.isnan(mean_abs_log_ratio([0], [5]))
    assert share_inside([5, 20, math.nan], [4, 4, 4], [6, 6, 6]) == 0.5


def test_a_miss_is_a_mean_beyond_the_widened_spread():
    figure = Published("attacks_kp", 2023, 295, 295, 567, "", "x", "H", "held_out")
    assert not is_miss(YearEstimate(250, 240, 260, 2), figure)  # within 295 / 1.25 = 236
    assert is_miss(YearEstimate(162, 153, 171, 2), figure)
    assert is_miss(YearEstimate(800, 720, 900, 2), figure)  # above 567 * 1.25 = 708.75
    assert not is_miss(YearEstimate(math.nan, math.nan, math.nan, 0), figure)
    # The mean is outside by more than the factor although the interval reaches the spread: a miss
    # (the old rule asked the whole interval to stay outside).
    assert is_miss(YearEstimate(200, 100, 300, 2), figure)
    # Calibration and input rows are never misses: they are not out of sample.
    for role in ("calibration", "input"):
        fitted = Published("attacks_kp", 2023, 295, 295, 567, "", "x", "H", role, why="w")
        assert not is_miss(YearEstimate(100, 90, 110, 2), fitted)


def test_published_figures_are_complete():
    published = load_published()
    assert [p.value for p in published["attacks_kp"] if p.role == "calibration"] == [295]
    assert [p.value for p in published["attacks_balochistan"] if p.year == 2015] == [218]
    for figures in published.values():
        for figure in figures:
            assert figure.low <= figure.value <= figure.high and figure.source
            calibration = (figure.series, figure.year) in CALIBRATION_ROWS
            assert (figure.role == "calibration") == calibration, figure
            assert (figure.role == "input") == (figure.series == "fence_share"), figure
            assert figure.role == "held_out" or figure.why, figure
    assert {p.year for p in published["formal_returns"]} == {2016, 2023, 2024, 2025}


@pytest.mark.parametrize(
    ("args", "where", "what"),
    [
        (["--draws", "0"], "--draws", "(allowed: >= 1"),
        (["--start-year", "2010"], "--start-year", "outside the scenario's years (allowed: 2023"),
        (["--start-year", "2024", "--end-year", "2023"], "--start-year", "after --end-year"),
        (["--posterior", "missing.csv"], "missing.csv", "file: cannot read"),
        (
            ["--scenario", "no_such_history"],
            "no_such_history",
            "not a scenario file or a shipped scenario (allowed: ",
        ),
    ],
)
def test_bad_options_give_one_error_line(scenario_file, tmp_path, args, where, what):
    base = ["--scenario", scenario_file, "--posterior", POSTERIOR, "--out", tmp_path / "out"]
    line = error_of(invoke(*base, *args))
    assert where in ": ".join(line.split(": ")[1:3]) and what in line, line  # source, key


def test_bad_posterior_and_published_files(scenario_file, tmp_path):
    posterior = tmp_path / "posterior.csv"
    posterior.write_text("population.no_such_key,distance\n3,0.1\n")
    line = error_of(invoke("--scenario", scenario_file, "--posterior", posterior))
    assert line.startswith(f"error: {posterior}: population.no_such_key: not a key of the scenario")
    published = tmp_path / "published.toml"
    published.write_text("[[series.attacks.years]]\nyear = 2024\nvalue = 1\n")
    line = error_of(invoke("--scenario", scenario_file, "--posterior", POSTERIOR,
                           "--published", published))  # fmt: skip
    assert line.startswith(f"error: {published}: series.attacks: unknown series (allowed: ")
    with pytest.raises(HindcastError, match="negative"):
        published.write_text('[[series.attacks_kp.years]]\nyear = 2024\nvalue = -1\nsource = "x"\n'
                             'role = "held_out"\nconfidence = "H"\n')  # fmt: skip
        load_published(published)


def test_same_draws_and_seeds_give_the_same_report_on_any_engine(reduced, scenario_file, tmp_path):
    """The reduced run again, in this process instead of two workers: the same report, byte for
    byte (Markdown and numbers)."""
    result = invoke("--scenario", scenario_file, "--draws", 2, "--replicates", 1, "--workers", 1,
                    "--posterior", POSTERIOR, "--start-year", 2023, "--end-year", 2024,
                    "--seed", 7, "--out", tmp_path,
                    "--published", reduced.parent / "published.toml")  # fmt: skip
    assert result.exit_code == 0, (result.exception, result.stderr)
    for name in ("hindcast.md", "hindcast.csv", "runs.csv"):
        assert (tmp_path / name).read_text() == (reduced / name).read_text(), name


# The validation report's out-of-sample section ---------------------------------------------------
def numbers_example() -> pd.DataFrame:
    """A hindcast table of one series over four years: 2024 fitted, three years held out."""
    rows = [(2021, 50.0, 100.0, "held_out", True, "no Baloch groups before 2022"),
            (2022, 100.0, 100.0, "held_out", False, ""),
            (2023, 200.0, 100.0, "held_out", True, "no Baloch groups before 2022"),
            (2024, 110.0, 100.0, "calibration", False, "")]  # fmt: skip
    return pd.DataFrame([
        {"series": "attacks_balochistan", "label": "Attacks in Balochistan",
         "unit": "attacks a year", "year": y, "model_mean": m, "model_low": m * 0.9,
         "model_high": m * 1.1, "published": p, "published_low": p * 0.95,
         "published_high": p * 1.05, "role": role, "miss": miss, "cause": cause,
         "outside_tolerance": False}
        for y, m, p, role, miss, cause in rows
    ])  # fmt: skip


def test_the_held_out_summary_scores_only_the_held_out_years():
    from borderabm.analysis.hindcast import held_out_summary

    row = held_out_summary(numbers_example()).iloc[0]
    assert row["years"] == 3
    assert row["score"] == pytest.approx((math.log(2) + 0 + math.log(2)) / 3)
    assert row["inside"] == pytest.approx(1 / 3)
    assert row["misses"] == "2021, 2023"
    assert row["causes"] == "no Baloch groups before 2022"
    assert row["calibration_ratio"] == pytest.approx(1.1)


def test_the_validation_report_shows_the_held_out_years(tmp_path):
    table = tmp_path / "hindcast.csv"
    numbers_example().to_csv(table, index=False)
    result = runner.invoke(app, ["validate-model", "--only", "closure_cuts_formal_trade",
                                 "--replicates", "5", "--days", "30", "--workers", "1",
                                 "--hindcast", str(table), "--out", str(tmp_path / "v")])  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    report = (tmp_path / "v" / "validation.md").read_text()
    assert "## Out of sample: the hindcast 2014–2025" in report
    assert (
        "| Attacks in Balochistan | attacks a year | 3 | 0.46 | 33% | 2: 2021, 2023 | 2024 | — "
        "| 1.10 | — |"
    ) in report
    assert "Attacks in Balochistan" in (tmp_path / "v" / "validation.html").read_text()


def test_validate_model_refuses_a_hindcast_table_it_cannot_read(tmp_path):
    bad = tmp_path / "hindcast.csv"
    bad.write_text("series,year\nattacks_kp,2024\n")
    result = runner.invoke(app, ["validate-model", "--only", "closure_cuts_formal_trade",
                                 "--replicates", "5", "--hindcast", str(bad),
                                 "--out", str(tmp_path / "v")])  # fmt: skip
    line = error_of(result)
    assert line == (f"error: {bad}: model_mean: missing column (allowed: the hindcast.csv that "
                    "borderabm hindcast writes)")  # fmt: skip
    assert not (tmp_path / "v").exists()


def test_the_default_posterior_ships_with_the_package_and_is_the_reported_one():
    from borderabm.apps.cli.hindcast import DEFAULT_POSTERIOR

    assert DEFAULT_POSTERIOR.is_relative_to(Path(__file__).resolve().parents[1] / "borderabm")
    assert DEFAULT_POSTERIOR.read_bytes() == POSTERIOR.read_bytes()
    assert len(read_posterior(DEFAULT_POSTERIOR)) > 0


def test_the_held_out_summary_counts_the_years_as_the_hindcast_report_does():
    from borderabm.analysis.hindcast import held_out_summary

    numbers = numbers_example()
    numbers.loc[numbers["year"] == 2022, ["model_mean", "model_low", "model_high"]] = math.nan
    row = held_out_summary(numbers).iloc[0]
    assert row["years"] == 2  # 2022 has a figure but no model value (a year the run misses)
    assert row["score"] == pytest.approx(math.log(2))
