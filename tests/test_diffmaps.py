"""Difference maps: per-place numbers of real runs on the real map, the pictures, and the report.

The substitution test runs the validation suite's arms (no fence against North and South Waziristan
fenced, no trigger rule), 2 replicates of 60 days each, and checks what the map would show: the
fenced sectors lose irregular crossings while an unfenced neighbour gains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from borderabm.analysis.places import (
    PLACE_COLUMNS,
    PLACE_METRICS,
    PlaceMetric,
    place_labels,
    place_table,
    run_place_figures,
)
from borderabm.experiments.run import geography, run_one
from borderabm.metrics import Dim, MetricName
from borderabm.report import diffmap
from borderabm.scenario import load_scenario
from borderabm.scenario.load import with_overrides
from tests.conftest import SCENARIOS

FENCED = ("North Waziristan", "South Waziristan")
NEIGHBOURS = ("Zhob", "Kurram")  # the sectors either side of them along the line
SEEDS = (1, 2)
DAYS = 60
NO_TRIGGERS = {"triggers": []}
ARMS = {
    "no_fence": {**NO_TRIGGERS, "fence.coverage": 0.0},
    "waziristan_fenced": {**NO_TRIGGERS, "fence.coverage": 0.0,
                          "fence.sectors": dict.fromkeys(FENCED, 1.0)},
}  # fmt: skip


@pytest.fixture(scope="module")
def arms():
    """Runs and daily series of both arms on common seeds, labelled as a comparison labels them."""
    base = load_scenario(SCENARIOS / "baseline.toml")
    runs, series = [], []
    for name, overrides in ARMS.items():
        for seed in SEEDS:
            settings = with_overrides(base, {**overrides, "seed": seed, "horizon_days": DAYS}, name)
            result = run_one(settings)
            run_id = f"{name}-{seed}"
            runs.append({"run_id": run_id, "scenario": name, "seed": seed})
            series.append(result.timeseries.copy().assign(run_id=run_id))
    world, _ = geography(base)
    return pd.DataFrame(runs), pd.concat(series, ignore_index=True), world


@pytest.fixture(scope="module")
def places(arms):
    runs, series, world = arms
    return place_table(runs, series, place_labels(world))


def _rows(places: pd.DataFrame, metric: str, scenario: str) -> pd.DataFrame:
    chosen = places[(places["metric"] == metric) & (places["scenario"] == scenario)]
    return chosen.set_index("place")


def test_fencing_two_sectors_moves_crossings_to_an_unfenced_neighbour(places):
    fenced = _rows(places, MetricName.IRREGULAR_CROSSINGS, "waziristan_fenced")
    for sector in FENCED:
        assert fenced.loc[sector, "diff"] < 0, (sector, fenced.loc[sector, "diff"])
    assert max(fenced.loc[list(NEIGHBOURS), "diff"]) > 0, fenced.loc[list(NEIGHBOURS), "diff"]
    # The difference is paired: the mean of the per-seed differences equals the difference of means.
    reference = _rows(places, MetricName.IRREGULAR_CROSSINGS, "no_fence")
    assert np.allclose(fenced["diff"], fenced["mean"] - reference.loc[fenced.index, "mean"])


def test_the_table_has_every_place_of_each_kind_and_levels_never_below_zero(places, arms):
    _, _, world = arms
    labels = place_labels(world)
    assert list(places.columns) == list(PLACE_COLUMNS)
    for entry in PLACE_METRICS:
        rows = places[(places["metric"] == entry.metric) & (places["scenario"] == "no_fence")]
        assert list(rows["place"]) == labels[entry.dim], entry
    assert (places["low"] >= 0).all() and (places["low"] <= places["mean"]).all()
    assert places.loc[places["scenario"] == "no_fence", "diff"].isna().all()
    assert (places["runs"] == len(SEEDS)).all()
    # Attacks are mapped by town: the province columns of the same metric are not read as towns.
    attacks = set(places.loc[places["metric"] == MetricName.ATTACKS, "place"])
    assert attacks == set(labels[Dim.TOWN]) and "Balochistan" not in attacks


def test_a_runs_figure_per_place_follows_the_registry_over_days(arms):
    runs, series, world = arms
    gates = place_labels(world)[Dim.GATE]
    stranded = run_place_figures(series, MetricName.STRANDED_PEOPLE, gates)  # "max" over days
    one = series[series["run_id"] == runs["run_id"][0]]
    column = f"{MetricName.STRANDED_PEOPLE}.{gates[0]}"
    assert stranded.loc[runs["run_id"][0], gates[0]] == one[column].max()
    crossings = run_place_figures(series, MetricName.IRREGULAR_CROSSINGS, ["Zhob"])  # "sum"
    assert crossings.loc[runs["run_id"][0], "Zhob"] == one["irregular_crossings.Zhob"].sum()


def test_the_difference_map_draws_fenced_sectors_blue_on_a_scale_centred_on_zero(
    places, arms, tmp_path
):
    _, _, world = arms
    entry = PlaceMetric(MetricName.IRREGULAR_CROSSINGS, Dim.SECTOR)
    path = diffmap.difference_map(world, places, entry, tmp_path / "map.png")
    assert path is not None and path.read_bytes().startswith(b"\x89PNG")
    assert Image.open(path).size[0] >= 800
    norm = diffmap.difference_norm(places.loc[places["metric"] == entry.metric, "diff"])
    assert norm.vmin == -norm.vmax and norm.vmax > 0 and norm(0.0) == 0.5  # zero is white
    figure = diffmap.difference_figure(world, places, entry)
    reference, policy, difference = figure.axes[:3]

    def colours(ax):
        return {line.get_gid(): line.get_color() for line in ax.get_lines() if line.get_gid()}

    drawn = colours(difference)
    assert set(drawn) == set(place_labels(world)[Dim.SECTOR])
    for sector in FENCED:  # blue: fewer than the reference
        red, _, blue, _ = drawn[sector]
        assert blue > red, (sector, drawn[sector])
    assert any(drawn[s][0] > drawn[s][2] for s in NEIGHBOURS), [drawn[s] for s in NEIGHBOURS]
    # The scenarios' own panels share one scale: the fenced sectors are darker under the fence.
    own, fenced = colours(reference), colours(policy)
    assert all(sum(fenced[s][:3]) != sum(own[s][:3]) for s in FENCED)
    titles = [ax.get_title() for ax in figure.axes[:3]]
    assert titles == ["no_fence (reference)", "waziristan_fenced (policy)",
                      "waziristan_fenced − no_fence"]  # fmt: skip
    labels = [ax.get_ylabel() for ax in figure.axes[3:]]  # the colour bars: metric and unit
    assert labels == ["Irregular civilian crossings (people)",
                      "Δ Irregular civilian crossings (people)"]  # fmt: skip
    assert diffmap.difference_map(world, places.iloc[0:0], entry, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_the_report_writes_maps_and_a_places_csv_equal_to_the_analysis(arms, tmp_path):
    from borderabm.analysis.compare import compare_table, sector_names
    from borderabm.report.compare import PLACES_CSV, write_report

    runs, series, world = arms
    summaries = pd.DataFrame(  # the summary metrics the report's other charts read
        [run_one(with_overrides(load_scenario(SCENARIOS / "baseline.toml"),
                                {**ARMS[r.scenario], "seed": r.seed, "horizon_days": DAYS},
                                r.scenario)).summary for r in runs.itertuples()]
    )  # fmt: skip
    full = pd.concat([runs, summaries], axis=1)
    written = write_report(compare_table(full), full, series, sector_names(series), tmp_path,
                           "Fence two sectors", len(SEEDS), world=world)  # fmt: skip
    names = {p.name for p in written}
    assert {PLACES_CSV, *(diffmap.map_file_name(e.metric) for e in PLACE_METRICS)} <= names
    stored = pd.read_csv(tmp_path / PLACES_CSV)
    expected = place_table(full, series, place_labels(world))
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)
    page = (tmp_path / "index.html").read_text()
    assert "Where it changes" in page and 'src="map_irregular_crossings.png"' in page
    assert f'href="{PLACES_CSV}"' in page


def test_runs_of_another_map_get_a_note_instead_of_maps(arms):
    from borderabm.report.compare import report_places

    runs, series, world = arms
    table, note = report_places(runs, series, ["Atlantis", "Lemuria"], world)
    assert table.empty and list(table.columns) == list(PLACE_COLUMNS)
    assert "sectors are not those" in note


def test_a_sweep_of_many_policies_maps_the_first_few_and_says_so(places, arms):
    _, _, world = arms
    policy = places[places["scenario"] == "waziristan_fenced"]
    many = pd.concat([places[places["scenario"] == "no_fence"]]
                     + [policy.assign(scenario=f"p{k}") for k in range(7)], ignore_index=True)  # fmt: skip
    entry = PlaceMetric(MetricName.IRREGULAR_CROSSINGS, Dim.SECTOR)
    figure = diffmap.difference_figure(world, many, entry)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert len(titles) == 3 * diffmap.MAX_POLICY_ROWS
    assert titles[-1] == f"p{diffmap.MAX_POLICY_ROWS - 1} − no_fence"
    assert figure.get_suptitle().endswith(f"the first {diffmap.MAX_POLICY_ROWS} policies of 7")


def test_deaths_by_sector_add_up_to_the_days_border_deaths(arms):
    _, series, world = arms
    sectors = [f"{MetricName.BORDER_DEATHS}.{s}" for s in place_labels(world)[Dim.SECTOR]]
    assert set(sectors) <= set(series.columns)
    assert (series[sectors].sum(axis=1) == series[MetricName.BORDER_DEATHS]).all()
    assert series[MetricName.BORDER_DEATHS].sum() > 0  # the check is not vacuous


def test_every_town_is_drawn_under_its_own_label_kabul_apart_from_its_province(places, arms):
    _, _, world = arms
    labels = place_labels(world)[Dim.TOWN]
    assert "Kabul (town)" in labels and "Kabul" in place_labels(world)[Dim.PROVINCE]
    entry = PlaceMetric(MetricName.ATTACKS, Dim.TOWN)
    towns = places[(places["metric"] == entry.metric) & (places["dim"] == entry.dim)]
    assert set(towns["place"]) == set(labels)  # Kabul's town row read from its own column
    figure = diffmap.difference_figure(world, towns, entry)
    drawn = {c.get_gid() for c in figure.axes[0].collections if c.get_gid()}
    assert drawn == set(labels)
