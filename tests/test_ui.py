"""The UI: map frames from arrays, and the Solara server started for real on loopback."""

import os
import re
import urllib.request

import numpy as np

from borderabm.model import BorderModel
from borderabm.report.raster import GATE_RGB, PIXELS_PER_CELL, frame_png, frame_rgb
from borderabm.scenario import validate_document


def pixel_of_gate(world, name):
    x, y = world.crossing(name).cell
    row = world.grid.height - 1 - y
    return row * PIXELS_PER_CELL + 1, x * PIXELS_PER_CELL + 1


def test_a_closed_gate_turns_red(world):
    model = BorderModel(
        validate_document(
            {
                "horizon_days": 10,
                "crossings": {"Torkham": {"closures": [{"start": 3, "end": 6}]}},
                "corridor": {"enabled": True, "gates": ["Chaman"]},
            },
            "ui.toml",
        ),
        world=world,
    )
    frame = frame_rgb(world, model.policy)
    assert frame.shape == (
        world.grid.height * PIXELS_PER_CELL,
        world.grid.width * PIXELS_PER_CELL,
        3,
    )
    assert (frame[pixel_of_gate(world, "Torkham")] == GATE_RGB["open"]).all()
    assert (frame[pixel_of_gate(world, "Chaman")] == GATE_RGB["corridor"]).all()
    assert (frame[pixel_of_gate(world, "Gursal")] == GATE_RGB["closed"]).all()
    model.run(4)  # days 0-3 simulated; the closure began on day 3
    frame = frame_rgb(world, model.policy)
    assert (frame[pixel_of_gate(world, "Torkham")] == GATE_RGB["closed"]).all()
    assert frame_png(world, model.policy).startswith(b"\x89PNG")


def small_model(world, **document):
    return BorderModel(validate_document({"horizon_days": 30, **document}, "ui.toml"), world=world)


def test_the_overlay_paints_gates_agents_and_fence_and_leaves_the_rest_transparent(world):
    import numpy as np

    from borderabm.report.raster import KIND_RGB, overlay_png, overlay_rgba

    model = small_model(world, crossings={"Torkham": {"open": False}})
    model.run(3)
    overlay = overlay_rgba(model)
    assert overlay.shape == (world.grid.height, world.grid.width, 4)
    x, y = world.crossing("Torkham").cell
    assert list(overlay[world.grid.height - 1 - y, x]) == [*GATE_RGB["closed"], 255]
    x, y = world.crossing("Chaman").cell
    assert list(overlay[world.grid.height - 1 - y, x]) == [*GATE_RGB["open"], 255]
    # Every militant group's cell is painted (unless a gate or a later kind covers it).
    cells = model.populations[[p.kind for p in model.populations].index("militant")].flat_cells(
        model
    )
    mx, my = np.unravel_index(np.unique(cells), world.grid.shape)
    painted = overlay[world.grid.height - 1 - my, mx, :3]
    assert (painted == KIND_RGB["militant"]).all(axis=1).mean() > 0.9
    # Most of the map is transparent, so the terrain shows and the PNG is small.
    assert (overlay[..., 3] == 0).mean() > 0.8
    assert len(overlay_png(model)) < 30_000


def test_the_fence_is_shaded_by_coverage_on_the_overlay(world):
    from borderabm.report.raster import overlay_rgba

    bx, by = np.nonzero(world.is_border)
    rows = world.grid.height - 1 - by

    def border_shade(coverage):
        model = small_model(world, fence={"coverage": coverage})
        return overlay_rgba(model)[rows, bx, 0].astype(int)

    # No fence: light grey (200); full fence: the fence brown (red channel 90), away from gates.
    assert np.median(border_shade(0.0)) == 200
    assert np.median(border_shade(1.0)) == 90


def test_map_labels_name_every_sector_and_mark_where_sectors_meet(world):
    from borderabm.report.raster import map_labels

    labels = map_labels(world)
    assert {name for name, _, _ in labels["sectors"]} == {s.name for s in world.sectors}
    assert len(labels["sector_marks"]) >= len(world.sectors) - 1
    peshawar = next(t for t in labels["towns"] if t[0] == "Peshawar")
    x, y = world.town("Peshawar").cell
    assert peshawar[1:] == [x, world.grid.height - 1 - y]


def test_inspecting_a_cell_tells_the_place_the_fence_the_gate_and_the_agents(world):
    from borderabm.apps.ui.inspection import cell_html, describe_cell
    from borderabm.world.world import COUNTRIES

    model = small_model(world, fence={"coverage": 0.5}, crossings={"Torkham": {"open": False}})
    model.run(2)
    x, y = world.crossing("Torkham").cell
    rows = dict(describe_cell(model, x, world.grid.height - 1 - y))
    assert rows["border"].startswith("on the Durand Line")
    assert rows["nearest gate"].startswith("Torkham (closed), 0 km")
    assert "fenced 50%" in rows["sector"]
    assert rows["agents within 1 cell"] != "none"  # traders and refugees queue at the closed gate
    x, y = world.town("Kabul").cell
    rows = dict(describe_cell(model, x, world.grid.height - 1 - y))
    assert rows["place"].startswith("Afghanistan, Kabul")
    assert rows["nearest town"] == "Kabul, 0 km"
    assert rows["sector"].startswith("none")  # Kabul is far from the line: no fence sector
    outside = np.argwhere(world.country == COUNTRIES.index("other"))  # e.g. Iran
    ox, oy = outside[len(outside) // 2]
    assert dict(describe_cell(model, ox, world.grid.height - 1 - oy))["sector"].startswith("none")
    assert describe_cell(model, -1, 0) == []
    assert describe_cell(model, 0, world.grid.height) == []
    assert "<script>" not in cell_html([("x", "<script>")], pinned=True)


def test_chart_series_are_cumulative_except_stranded_people(world):
    from borderabm.apps.ui.app import chart_series
    from borderabm.metrics import BROWSER_CHART_METRICS, metric_label

    model = small_model(world, crossings={"Torkham": {"open": False}})
    model.run(12)
    charts = {c["title"]: c for c in chart_series(model)}
    assert len(charts) == len(BROWSER_CHART_METRICS)
    daily = model.timeseries()
    attacks = charts["Attacks, to date"]
    assert attacks["x"] == list(range(1, 13))
    assert attacks["y"][-1] == daily["attacks"].sum()
    stranded = charts[metric_label("stranded_people") + " per day"]
    assert stranded["y"] == daily["stranded_people"].tolist()


def test_the_charts_caption_names_every_per_day_chart_audit_shown_d11():
    """The caption named only stranded people; trucks and the gates' flows are per day too."""
    from borderabm.apps.ui.app import chart_caption
    from borderabm.metrics import BROWSER_LEVEL_METRICS, metric_info

    caption = chart_caption()
    assert caption.startswith("Running totals since day 0, except ")
    for name in BROWSER_LEVEL_METRICS:  # stranded people and trucks, people and trucks at gates
        assert metric_info(name).label.lower() in caption
    assert len(BROWSER_LEVEL_METRICS) == 4


def test_ui_serves_the_page_and_its_assets_offline(ui_server):
    url, _ = ui_server
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    assets = re.findall(r'(?:src|href)="(/_solara/cdn/[^"]+)"', page)
    assert assets, "the page should load Solara's front end from the local server"
    # Nothing is loaded from a CDN (plain <a> links to solara.dev are not loads).
    assert not re.search(r'<(?:script|link)\b[^>]*(?:src|href)="https?://', page)
    for asset in assets:
        with urllib.request.urlopen(url.rstrip("/") + asset, timeout=10) as response:
            assert response.status == 200, asset


def listening_addresses(port: int) -> list[str]:
    """Local addresses listening on a TCP port, read from /proc (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.split(":")
                if state == "0A" and int(port_hex, 16) == port:
                    found.append(address)
    return found


def test_ui_binds_loopback_only(ui_server):
    _, port = ui_server
    addresses = listening_addresses(port)
    ipv4_loopback = "0100007F"  # 127.0.0.1, little-endian hex
    ipv6_loopback = "00000000000000000000000001000000"
    assert addresses and set(addresses) <= {ipv4_loopback, ipv6_loopback}, addresses


def test_a_closed_gate_says_why():
    from borderabm.apps.ui.inspection import gate_status_text
    from borderabm.apps.ui.run_setup import build_model

    model = build_model("closures_oct2025", seed=1, days=60)
    model.run(45)
    assert gate_status_text(model, "Gursal") == "closed (gate status)"
    torkham = gate_status_text(model, "Torkham")
    assert torkham.startswith("closed: October 2025 clashes (days 41–89, to 2025-11-29)")
    assert gate_status_text(model, "Badini") in ("open", "closed: rule “attack surge closes gates”")
