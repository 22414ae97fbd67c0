"""The UI: map frames from arrays, and the Solara server started for real on loopback."""

import os
import re
import urllib.request

from borderabm.model import BorderModel
from borderabm.scenario import validate_document
from borderabm.viz.raster import GATE_RGB, PIXELS_PER_CELL, frame_png, frame_rgb


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
