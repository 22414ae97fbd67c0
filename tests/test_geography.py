"""The gridded Durand Line against what is known about the real one."""

import numpy as np
import pytest

from borderabm import gazetteer
from borderabm.world import build_world
from borderabm.world.world import AF, PK
from tests.conftest import OFFICIAL_CROSSINGS

NE_GEODESIC_KM = 2244.7


def test_geodesic_length_of_the_shipped_line(world):
    assert world.border_geodesic_km == pytest.approx(NE_GEODESIC_KM, abs=0.5)


@pytest.mark.parametrize("cell_km", [2.0, 5.0, 10.0, 20.0])
def test_border_length_on_the_grid_within_5_percent(cell_km):
    world = build_world(cell_km)
    assert world.border_length_km == pytest.approx(NE_GEODESIC_KM, rel=0.05)
    # The cell-centre staircase is longer (it zig-zags); it is reported, and stays plausible.
    assert NE_GEODESIC_KM < world.border_path_km < 1.45 * NE_GEODESIC_KM


def test_grid_cells_are_the_requested_size():
    for cell_km in (2.0, 20.0):
        world = build_world(cell_km)
        assert world.grid.cell_km == cell_km
        # The grid spans the whole line (~1,300 km east-west) whatever the resolution.
        assert world.grid.width * cell_km > 1250


def test_official_crossings_lie_on_border_cells_near_their_coordinates(world):
    names = [c.name for c in world.crossings]
    assert names == OFFICIAL_CROSSINGS
    for crossing in world.crossings:
        assert world.is_border[crossing.cell], crossing.name
        half_diagonal = world.grid.cell_km * np.sqrt(2) / 2
        assert crossing.snap_km <= crossing.uncertainty_km + half_diagonal, crossing.name


def test_crossings_fall_in_their_sectors_and_in_line_order(world):
    expected = {
        "Chaman": "Chaman",
        "Badini": "Zhob",
        "Angoor Adda": "South Waziristan",
        "Ghulam Khan": "North Waziristan",
        "Kharlachi": "Kurram",
        "Torkham": "Khyber",
        "Gursal": "Mohmand",
        "Nawa Pass": "Bajaur",
        "Arandu": "Chitral",
    }
    for name, sector in expected.items():
        assert world.sectors[world.crossing(name).sector].name == sector
    # Published distances along the NE line from the Iran tripoint (shared geo README).
    for name, km in [("Chaman", 686), ("Angoor Adda", 1190), ("Torkham", 1577), ("Arandu", 1755)]:
        assert world.crossing(name).chainage_km == pytest.approx(km, abs=5)


@pytest.mark.parametrize(
    ("town", "country"),
    [
        ("Peshawar", "PK"),
        ("Quetta", "PK"),
        ("Bannu", "PK"),
        ("Kabul", "AF"),
        ("Kandahar", "AF"),
        ("Jalalabad", "AF"),
        ("Khost", "AF"),
        ("Spin Boldak", "AF"),
    ],
)
def test_towns_fall_on_their_side(world, town, country):
    assert world.town(town).country == country
    assert world.country_at(world.town(town).cell) == country


def test_elevation_matches_known_places(world):
    def at(name):
        return float(world.elevation_m[world.town(name).cell])

    assert at("Kabul") == pytest.approx(1800, abs=100)
    assert at("Quetta") == pytest.approx(1680, abs=150)
    assert at("Peshawar") == pytest.approx(330, abs=100)
    assert at("Kandahar") == pytest.approx(1010, abs=120)
    # The Hindu Kush around Tirich Mir (36.25N 71.84E) is far higher than the Peshawar valley.
    tirich = world.grid.cell_of_lonlat(71.84, 36.25)
    x, y = tirich
    assert world.elevation_m[x - 2 : x + 3, y - 2 : y + 3].max() > 5000


def test_terrain_costs_follow_the_terrain(world):
    peshawar = world.town("Peshawar").cell
    x, y = world.grid.cell_of_lonlat(71.84, 36.25)
    assert world.ruggedness_m[x, y] > 3 * world.ruggedness_m[peshawar]
    assert world.foot_hours_per_km[x, y] > 2 * world.foot_hours_per_km[peshawar]
    on_road = world.road >= 0
    assert world.vehicle_hours_per_km[on_road].max() < np.nanmin(
        world.vehicle_hours_per_km[~on_road]
    )
    assert np.isinf(world.vehicle_hours_per_km).any()  # high mountains stop vehicles
    assert (world.foot_hours_per_km > 0).all()


def test_roads_join_their_end_towns(world):
    ends = {
        "Peshawar-Torkham-Jalalabad-Kabul": ("Peshawar", "Kabul"),
        "Quetta-Chaman-Kandahar": ("Quetta", "Kandahar"),
        "Bannu-Ghulam Khan-Khost-Kabul": ("Bannu", "Kabul"),
    }
    for road in world.roads:
        assert (world.road[road.cells[:, 0], road.cells[:, 1]] >= 0).all()
        if road.name in ends:
            first, last = ends[road.name]
            assert tuple(road.cells[0]) == world.town(first).cell
            assert tuple(road.cells[-1]) == world.town(last).cell
        steps = np.abs(np.diff(road.cells, axis=0)).max(axis=1)
        assert (steps <= 1).all(), road.name  # a connected chain of cells


def test_no_8_neighbour_step_crosses_the_border_without_a_border_cell(world):
    country = world.country
    off_border_af = (country == AF) & ~world.is_border
    off_border_pk = (country == PK) & ~world.is_border
    padded = np.pad(off_border_pk, 1)
    w, h = country.shape
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            shifted = padded[1 + dx : 1 + dx + w, 1 + dy : 1 + dy + h]
            assert not (off_border_af & shifted).any()


def test_sectors_tile_the_line(world):
    assert [s.name for s in world.sectors][:2] == ["Chagai", "Chaman"]
    assert world.sectors[-1].name == "Wakhan"
    for before, after in zip(world.sectors, world.sectors[1:], strict=False):
        assert before.end_km == pytest.approx(after.start_km)
    assert sum(s.length_km for s in world.sectors) == pytest.approx(world.border_length_km)
    assert all(s.length_km > 20 for s in world.sectors)
    assert (world.sector >= 0).all()  # every cell reports to a sector
    assert world.sectors[world.sector[world.town("Peshawar").cell]].name == "Khyber"
    assert world.sectors[world.sector[world.town("Quetta").cell]].name == "Chaman"


def test_distance_to_border(world):
    assert (world.distance_to_border_km[world.is_border] == 0).all()
    assert world.distance_to_border_km[world.town("Landi Kotal").cell] < 10
    assert 30 < world.distance_to_border_km[world.town("Peshawar").cell] < 60
    assert 60 < world.distance_to_border_km[world.town("Kabul").cell] < 130


def test_provinces_for_reporting(world):
    def province(town):
        return world.provinces[world.town(town).province].name

    assert province("Peshawar") == "Khyber Pakhtunkhwa+Federally Administered Tribal Areas"
    assert province("Quetta") == "Balochistan"
    assert province("Jalalabad") == "Nangarhar"
    assert province("Asadabad") == "Kunar"
    assert province("Khost") == "Khost+Paktia"
    assert province("Kandahar") == "Kandahar+Zabul+Helmand"
    present = {world.provinces[i].name for i in np.unique(world.province) if i >= 0}
    assert {"Paktika", "Nuristan", "Kabul", "Balochistan"} <= present
    for piece in world.provinces:
        cells = world.province == piece.id
        if cells.any():
            code = AF if piece.country == "AF" else PK
            assert (world.country[cells] == code).mean() > 0.95, piece.name


def test_the_gazetteer_names_what_the_world_builds(world):
    # The scenario schema checks names against the gazetteer (no GIS imports); the world reads the
    # same files with shapely. The two must agree, or a valid name would find nothing on the map.
    assert gazetteer.province_names() == tuple(p.name for p in world.provinces if p.name)
    assert gazetteer.crossing_names() == tuple(c.name for c in world.crossings)
    assert gazetteer.sector_names() == tuple(s.name for s in world.sectors)
    # The provinces the shipped scenarios name (sanctuaries and targets) are among them.
    shipped = {"Kunar", "Nangarhar", "Khost+Paktia", "Paktika", "Balochistan",
               "Khyber Pakhtunkhwa+Federally Administered Tribal Areas"}  # fmt: skip
    assert shipped <= set(gazetteer.province_names())


def test_cache_round_trip_and_damaged_entry(tmp_path):
    built = build_world(10.0, cache_dir=tmp_path)
    files = list(tmp_path.glob("world-10km-*.pickle"))
    assert len(files) == 1
    again = build_world(10.0, cache_dir=tmp_path)
    np.testing.assert_array_equal(built.elevation_m, again.elevation_m)
    assert again.crossings == built.crossings
    files[0].write_bytes(b"not a pickle")
    rebuilt = build_world(10.0, cache_dir=tmp_path)
    np.testing.assert_array_equal(built.country, rebuilt.country)
    fresh = build_world(10.0, use_cache=False)
    np.testing.assert_array_equal(fresh.sector, built.sector)


@pytest.mark.parametrize("cell_km", [1.0, 25.0])
def test_resolution_out_of_range(cell_km):
    with pytest.raises(ValueError, match="between 2.0 and 20.0"):
        build_world(cell_km)


def test_walks_to_crossing_points_stay_on_their_side(world):
    from borderabm.rules.population import FOOT, VEHICLE, Journey
    from borderabm.world.routes import build_routes

    routes = build_routes(world)
    rng = np.random.default_rng(0)
    country, border = world.country.ravel(), world.is_border.ravel()
    for mode, hours in ((FOOT, routes.foot_hours), (VEHICLE, routes.vehicle_hours)):
        for node in routes.crossing_points:
            field = hours[node].ravel()
            candidates = np.flatnonzero(~border & np.isin(country, (AF, PK)) & np.isfinite(field))
            if candidates.size < 40:  # e.g. no road reaches the high Wakhan points
                continue
            starts = rng.choice(candidates, size=40, replace=False)
            journey = Journey.empty(starts.size)
            rows = np.arange(starts.size)
            journey.start(rows, node, starts, field[starts], mode)
            for _ in range(int(field[starts].max() // 8) + 2):
                cells = journey.cells(routes, rows, world.country)
                strayed = ~border[cells] & (country[cells] != country[starts])
                assert not strayed.any(), (routes.node_name[node], mode)
                journey.advance(rows)
            assert (journey.cells(routes, rows, world.country) == np.ravel_multi_index(
                tuple(routes.node_cell[node]), world.grid.shape)).all()  # fmt: skip
