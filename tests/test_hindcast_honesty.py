"""The hindcast reports its calibration honestly (audit "Calibration is honest").

Roles are data (calibration, input, held out) and only held-out rows are scored; a held-out year
is a miss when the model's mean lies outside the published spread by more than the stated factor;
the report is not built while a miss has no written cause; calibration rows show the tolerance the
fit used; the band says how many draws meet the calibration; numbers carry units. Small hand-made
hindcasts and the stored runs of docs/hindcast: no model run.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from borderabm.analysis.hindcast import (
    SERIES_BY_KEY,
    Draw,
    Hindcast,
    HindcastError,
    Published,
    RunYears,
    compare_series,
    from_runs_frame,
    load_published,
    load_tolerances,
    period,
    read_posterior,
)
from borderabm.report import charts
from borderabm.report import hindcast as report

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "docs" / "hindcast"
POSTERIOR = ROOT / "borderabm" / "data" / "calibration" / "baseline_posterior.csv"
KP = SERIES_BY_KEY["attacks_kp"]
REFUGEES = SERIES_BY_KEY["registered_refugees"]


def runs_of(key: str, values_by_draw: list[dict[int, float]]) -> list[RunYears]:
    return [RunYears(draw, 0, {key: values}, 0.0) for draw, values in enumerate(values_by_draw)]


def hindcast_of(
    spec_key: str, figures: list[Published], values: list[dict[int, float]]
) -> Hindcast:
    spec = SERIES_BY_KEY[spec_key]
    runs = runs_of(spec_key, values)
    years = tuple(sorted(values[0]))
    draws = [Draw(i, i, {}) for i in range(len(values))]
    hindcast = Hindcast("test", years, draws, 1, 1, "posterior.csv", runs)
    hindcast.series = [compare_series(spec, runs, years, figures)]
    return hindcast


def figure(year: int, value: float, role: str = "held_out", **extra) -> Published:
    why = "a reason" if role != "held_out" else ""
    return Published("attacks_kp", year, value, value, value, "d", "s", "H", role, why=why, **extra)


def test_held_out_scores_leave_out_calibration_and_input_rows():
    """A calibration row and an input row, each off by a factor 2, do not enter the scores."""
    figures = [figure(2022, 100), figure(2023, 200, "calibration"), figure(2024, 200, "input")]
    result = compare_series(KP, runs_of(KP.key, [{2022: 100, 2023: 100, 2024: 100}]),
                            (2022, 2023, 2024), figures)  # fmt: skip
    assert result.years_scored == 1
    assert result.score_held_out == 0.0
    assert result.inside_share == 1.0
    assert result.score_calibration == pytest.approx(math.log(2))
    assert result.misses == []


def test_a_held_out_mean_outside_the_spread_by_more_than_the_factor_is_a_miss():
    figures = [figure(2022, 100), figure(2023, 100), figure(2024, 100)]
    # 2022: x1.2, inside the factor 1.25; 2023: x1.3 (mean outside, though the runs reach 100).
    values = [{2022: 120, 2023: 100, 2024: 100}, {2022: 120, 2023: 160, 2024: 100}]
    result = compare_series(KP, runs_of(KP.key, values), (2022, 2023, 2024), figures)
    assert result.misses == [2023]


def test_a_miss_without_a_cause_stops_the_report(tmp_path):
    hindcast = hindcast_of("attacks_kp", [figure(2022, 100), figure(2023, 100)],
                           [{2022: 100, 2023: 300}])  # fmt: skip
    with pytest.raises(HindcastError) as error:
        report.write_report(hindcast, tmp_path / "out", not_compared=[])
    assert "attacks_kp year 2023: cause" in error.value.key
    assert "missing: 1 miss(es) without a written cause (attacks_kp 2023)" in error.value.problem
    # No report, but the runs (long to compute) are kept for a rebuild once the cause is written.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["runs.csv"]
    kept = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert sorted(kept["value"]) == [100, 300]
    explained = [figure(2022, 100), figure(2023, 100, cause="no condition changes in 2023")]
    hindcast = hindcast_of("attacks_kp", explained, [{2022: 100, 2023: 300}])
    report.write_report(hindcast, tmp_path / "out", not_compared=[])
    markdown = (tmp_path / "out" / "hindcast.md").read_text()
    assert "**miss**" in markdown and "no condition changes in 2023" in markdown
    assert "1 held-out comparisons, 1 misses" in markdown or "2 held-out comparisons, 1 misses" in (
        markdown
    )


def test_a_calibration_year_outside_its_fitted_tolerance_is_flagged_with_its_cause(tmp_path):
    tolerance = load_tolerances()["registered_refugees"]
    fitted = Published("registered_refugees", 2024, 1.45e6, 1.3e6, 1.45e6, "d", "s", "H",
                       "calibration", why="the target", fitted=tolerance,
                       cause="the stock shrinks from 2014")  # fmt: skip
    hindcast = hindcast_of("registered_refugees", [fitted], [{2024: 1.05e6}])
    report.write_report(hindcast, tmp_path / "out", not_compared=[])
    markdown = (tmp_path / "out" / "hindcast.md").read_text()
    assert "**The hindcast's 2024 misses a fitted target: Registered refugees" in markdown
    assert "**outside the fitted tolerance** | the stock shrinks from 2014 |" in markdown
    numbers = pd.read_csv(tmp_path / "out" / "hindcast.csv")
    assert numbers["outside_tolerance"].tolist() == [True] and not numbers["miss"].any()
    inside = hindcast_of("registered_refugees", [fitted], [{2024: 1.4e6}])
    assert not report.numbers_frame(inside)["outside_tolerance"].any()


def test_calibration_rows_show_the_tolerance_the_fit_used():
    published = {key: {p.year: p for p in figures} for key, figures in load_published().items()}
    spec = load_tolerances()
    kp = published["attacks_kp"][2024]
    assert kp.fitted is not None and (kp.fitted.low, kp.fitted.high) == (250, 340)
    assert (spec["attacks_kp"].low, spec["attacks_kp"].high) == (250, 340)
    refugees = published["registered_refugees"][2024].fitted
    assert refugees is not None and (refugees.low, refugees.high) == (1.3e6, 1.52e6)
    trade = published["formal_trade_usd"][2025]
    assert trade.role == "calibration" and trade.fitted is not None
    assert trade.fitted.high == trade.value == 1.998e9  # FY2025 is the fit's upper bound
    result = compare_series(KP, runs_of(KP.key, [{2024: 300}]), (2024,),
                            list(load_published()["attacks_kp"]))  # fmt: skip
    row = next(r for r in report.year_rows(result)[1] if r[0] == "2024")
    assert "250 – 340" in row[5] and "attacks_kp" in row[5]
    assert "567" not in row[5]


def test_roles_need_a_reason_and_a_known_target(tmp_path):
    path = tmp_path / "published.toml"
    base = '[[series.attacks_kp.years]]\nyear = 2024\nvalue = 1\nsource = "x"\nconfidence = "H"\n'
    path.write_text(base + 'role = "calibration"\n')
    with pytest.raises(HindcastError, match="a calibration figure says why"):
        load_published(path)
    path.write_text(base + 'role = "calibration"\nwhy = "fitted"\ntarget = "nosuch"\n')
    with pytest.raises(HindcastError, match="'nosuch' is not a fitted target"):
        load_published(path)
    path.write_text(base + 'role = "fitted"\n')
    with pytest.raises(HindcastError, match="allowed: calibration, input, held_out"):
        load_published(path)


def test_the_band_says_how_many_draws_meet_the_calibration():
    tolerance = load_tolerances()["attacks_kp"]  # 250-340
    fitted = Published("attacks_kp", 2024, 295, 295, 295, "d", "s", "H", "calibration",
                       why="the target", fitted=tolerance)  # fmt: skip
    hindcast = hindcast_of("attacks_kp", [fitted], [{2024: 300}, {2024: 400}, {2024: 260}])
    text = report.band_text(hindcast)
    assert "5–95% across 3 posterior draws × 1 seed; only 2 of the 3 draws meet every " in text
    assert "tolerance: attacks_kp 2;" in text


def test_numbers_carry_units_and_charts_read_in_billions(tmp_path, monkeypatch):
    hindcast = hindcast_of("formal_trade_usd", [], [{2024: 1.7e9}])
    numbers = report.numbers_frame(hindcast)
    assert numbers.loc[0, "unit"] == "US$ a fiscal year" and "label" in numbers
    assert (report.runs_frame(hindcast)["unit"] == "US$ a fiscal year").all()
    shown = {}

    def keep(figure, path, dpi=charts.DPI):
        figure.canvas.draw()
        ax = figure.axes[0]
        shown["ylabel"], shown["offset"] = ax.get_ylabel(), ax.yaxis.get_offset_text().get_text()
        shown["top"] = ax.get_ylim()[1]
        plt.close(figure)
        return path

    monkeypatch.setattr(charts, "save", keep)
    report.chart(hindcast.series[0], tmp_path / "x.png")
    assert shown["ylabel"] == "US$ bn a fiscal year"
    assert shown["offset"] == ""  # no "1e9" above the axis
    assert shown["top"] < 10


def test_definitions_the_audit_flagged():
    published = {key: {p.year: p for p in figures} for key, figures in load_published().items()}
    assert "CALENDAR 2014" in published["formal_trade_usd"][2014].definition
    torkham_2016 = published["torkham_people_per_open_day"][2016]
    assert torkham_2016.low >= 5000 and torkham_2016.high <= 10000  # was 2,000-20,000
    assert all(p.role == "input" for p in published["fence_share"].values())


def test_a_window_narrows_a_year_to_the_published_days():
    assert period("mean", 2024, ((9, 1), (9, 7))) == (dt.date(2024, 9, 1), dt.date(2024, 9, 7))
    assert period("mean", 2024) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


def test_the_stored_report_is_rebuilt_from_its_runs_and_every_miss_has_a_cause():
    """docs/hindcast is what scripts/hindcast_report.py builds from docs/hindcast/runs.csv."""
    runs = pd.read_csv(STORED / "runs.csv")
    hindcast = from_runs_frame(runs, read_posterior(POSTERIOR), scenario="history_2014_2025",
                               posterior_name="p", published=load_published())  # fmt: skip
    rebuilt = report.numbers_frame(hindcast).set_index(["series", "year"])
    stored = pd.read_csv(STORED / "hindcast.csv", keep_default_na=False,
                         na_values=[""]).set_index(["series", "year"])  # fmt: skip
    assert list(stored.index) == list(rebuilt.index)
    pd.testing.assert_series_equal(stored["model_mean"], rebuilt["model_mean"], rtol=1e-12)
    assert list(stored["role"].fillna("")) == list(rebuilt["role"])
    assert list(stored["miss"]) == list(rebuilt["miss"])
    flagged = stored[stored["miss"] | stored["outside_tolerance"]]
    assert len(flagged) and flagged["cause"].fillna("").str.len().gt(0).all()
    assert set(stored.loc[stored["miss"], "role"]) == {"held_out"}
