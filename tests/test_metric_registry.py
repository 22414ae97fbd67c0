"""The metric registry names every figure a person reads; intervals stay within the data."""

import numpy as np
import pandas as pd
import pytest

from borderabm.analysis.compare import band, compare_table, level_interval
from borderabm.metrics import (
    METRICS,
    Dim,
    MetricName,
    breakdown_column,
    format_estimate,
    format_value,
    metric_info,
    metric_label,
)
from borderabm.model import BorderModel
from borderabm.scenario import load_scenario, shipped_scenarios_dir


@pytest.fixture(scope="module")
def short_run():
    settings = load_scenario(shipped_scenarios_dir() / "closures_oct2025.toml", {"horizon_days": 3})
    model = BorderModel(settings)
    model.run(3)
    return model


def test_every_summary_key_and_daily_column_has_a_label_and_unit(short_run):
    names = list(short_run.summary()) + [c for c in short_run.timeseries().columns if c != "date"]
    for name in names:
        if name == "day":
            continue
        entry = metric_info(name)
        assert entry.label and entry.unit, name
        assert entry.unit.lower() in metric_label(name).lower()


def test_labels_name_the_unit_once():
    assert metric_label("formal_trade_usd") == "Formal trade (US$)"
    assert metric_label("attacks") == "Attacks"


def test_breakdown_columns_take_their_metric_and_name_the_part():
    entry = metric_info("formal_trade_usd.Torkham")
    assert entry.unit == "US$" and entry.label == "Formal trade — Torkham"
    with pytest.raises(KeyError):
        metric_info("no_such_metric")
    assert metric_label("no_such_metric") == "no_such_metric"


def test_values_read_as_people_would():
    assert format_value("formal_trade_usd", 266_890_589.0) == "US$267M"  # 3 significant figures
    assert format_value("formal_trade_usd", 1_972_000_000.0) == "US$1.97bn"
    assert format_value("formal_trade_usd", -10_040_000.0) == "−US$10.0M"
    assert format_value("border_deaths", 38.0) == "38"
    assert format_value("stranded_people_max", 1204.0) == "1,204"
    assert format_value("trader_wait_days_mean", 1.234) == "1.23"
    assert format_value("trader_wait_days_mean", 2.0) == "2.00"  # a mean keeps its decimals
    assert format_value("days", 89.0) == "89"  # a count of days is whole (audit-shown D9)
    assert format_value("attacks", float("nan")) == "–"


def test_registry_names_are_the_keys():
    assert all(name == entry.name for name, entry in METRICS.items())


def test_level_intervals_of_skewed_counts_never_go_below_zero():
    # The UI review's case: stranded people over five replicates, one closure in one run.
    stranded = [0.0, 0.0, 0.0, 0.0, 650.0]
    level = level_interval(stranded)
    assert level.mean == pytest.approx(130.0)
    assert 0.0 <= level.low <= level.mean <= level.high <= 650.0
    # the Student-t interval the scorecard used before went far below zero
    from borderabm.analysis.compare import interval

    assert interval(stranded).low < -200


def test_level_intervals_are_deterministic_and_degenerate_cases_have_no_width():
    values = [3.0, 9.0, 4.0, 12.0, 7.0]
    assert level_interval(values) == level_interval(values)
    assert level_interval([5.0, 5.0, 5.0]) == level_interval([5.0])
    assert level_interval([5.0]).low == 5.0


def test_chart_bands_stay_within_the_replicates_every_day():
    rng = np.random.default_rng(3)
    values = rng.poisson(0.3, size=(5, 40)).astype(float) * 100  # mostly zeros, skewed
    mean, low, high = band(values)
    assert mean.shape == low.shape == high.shape == (40,)
    assert np.all(low >= values.min(axis=0)) and np.all(high <= values.max(axis=0))
    assert np.all((low <= mean) & (mean <= high))


def test_compare_table_levels_use_the_bootstrap_and_differences_stay_paired():
    results = pd.DataFrame(
        {
            "scenario": ["a"] * 5 + ["b"] * 5,
            "seed": [1, 2, 3, 4, 5] * 2,
            "stranded_people_max": [0.0, 0.0, 0.0, 0.0, 650.0, 0.0, 0.0, 10.0, 0.0, 0.0],
        }
    )
    table = compare_table(results, metrics=["stranded_people_max"]).set_index("scenario")
    assert (table["low"] >= 0).all()
    assert table.loc["b", "diff"] == pytest.approx(-128.0)
    assert table.loc["b", "diff_low"] < 0  # differences may be negative


def test_intervals_leave_out_runs_without_a_value_and_never_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert level_interval([float("nan"), 4.0, 6.0]).mean == pytest.approx(5.0)
        assert np.isnan(level_interval([float("nan")]).mean)
        from borderabm.analysis.compare import interval

        assert np.isnan(interval([]).mean)
        assert interval([float("nan"), 1.0, 3.0]).mean == pytest.approx(2.0)


def test_the_summary_keeps_gate_totals_per_gate_and_the_worst_day_of_stranding():
    from borderabm.metrics import summarise

    short = load_scenario(shipped_scenarios_dir() / "baseline.toml", {"horizon_days": 4})
    model = BorderModel(short)
    model.run(4)
    series = model.timeseries()
    series["stranded_trucks"] = [0.0, 700.0, 1_300.0, 200.0]
    series["gate_people.Torkham"] = [9_000.0, 10_000.0, 0.0, 11_000.0]
    summary = summarise(series)
    assert summary["stranded_trucks_max"] == 1_300.0
    assert summary["gate_people.Torkham"] == 30_000.0
    gates = [key for key in summary if key.startswith("gate_trucks.")]
    assert summary["gate_trucks"] == pytest.approx(sum(summary[g] for g in gates))


def test_every_breakdown_part_has_a_column_of_its_own(short_run):
    """A metric broken down by two kinds of place (attacks: provinces and towns) never merges two
    places into one column: Kabul is a province and a town, and each keeps its own count."""
    metrics = short_run.metrics
    expected = [
        breakdown_column(name, label) for (name, dim) in metrics.by for label in metrics.labels[dim]
    ]
    assert len(set(expected)) == len(expected), "two places share a column"
    row = metrics.row()
    assert len(row) == len(metrics.today) + len(expected)
    provinces = metrics.labels[Dim.PROVINCE]
    towns = metrics.labels[Dim.TOWN]
    assert "Kabul" in provinces and "Kabul (town)" in towns
    # A count added to the town shows under the town's column only.
    town = towns.index("Kabul (town)")
    metrics.add_by(MetricName.ATTACKS, Dim.TOWN, np.array([town]), np.array([1.0]))
    row = metrics.row()
    assert row[breakdown_column(MetricName.ATTACKS, "Kabul (town)")] == 1.0
    assert row[breakdown_column(MetricName.ATTACKS, "Kabul")] == 0.0
    metrics.start_day()


def test_an_estimate_keeps_its_interval_and_its_small_values_audit_shown_d2_d3():
    """A mean and its interval share one precision of three significant figures."""
    # Money: US$1.8bn [US$1.8bn – US$1.8bn] read as an interval of no width (audit-shown D3).
    assert format_estimate("formal_trade_usd", 1.80e9, 1.79e9, 1.82e9) == (
        "US$1.80bn [US$1.79bn – US$1.82bn]"
    )
    assert format_estimate("formal_trade_usd", 1.97e9, 1.96e9, 1.97e9) != format_estimate(
        "formal_trade_usd", 1.98e9, 1.97e9, 1.98e9
    )
    assert format_estimate("formal_trade_usd", -2.6e6, -19.5e6, 14.3e6, signed=True) == (
        "−US$2.6M [−US$19.5M – +US$14.3M]"
    )
    # Shares and small differences: 0.98 read as 1.0, a Δ of 0.03 as +0.0 (audit-shown D2).
    assert format_estimate("fence_share_mean", 0.98, 0.98, 0.98) == "0.980 [0.980 – 0.980]"
    assert format_estimate("fence_share_mean", 0.031, 0.012, 0.05, signed=True) == (
        "+0.0310 [+0.0120 – +0.0500]"
    )
    # Counts: whole values stay whole; otherwise the widest end sets the decimals.
    assert format_estimate("attacks", 38, 30, 45) == "38 [30 – 45]"
    assert format_estimate("attacks", -35, -61.12, -8.88, signed=True) == "-35.0 [-61.1 – -8.9]"
    assert format_estimate("attacks", 781.5, 751.0, 808.0) == "782 [751 – 808]"
    assert format_estimate("stranded_people_max", 1500, 1000, 2000) == "1,500 [1,000 – 2,000]"
    assert format_estimate("stranded_people_max", 557.3, 0, 1700) == "557 [0 – 1,700]"
    assert format_estimate("trade_lost_usd", 7.1e6, 0, 21.3e6) == "US$7.1M [US$0 – US$21.3M]"
    assert format_estimate("attacks", 0.0, 0.0, 0.0, signed=True) == "0 [0 – 0]"
    assert format_estimate("attacks", float("nan"), 1.0, 2.0) == "– [1 – 2]"


def test_the_policy_cost_names_every_cost_it_adds_audit_shown_d8():
    """rules/policy.py adds the deportations' cost to the fence, patrols and corridor."""
    assert "deportations" in metric_info("policy_cost_usd").description
