"""borderabm benchmarks: world build times and the model frame's speed. Prints a Markdown table.

Run with ``make bench``; record the figures in ``benchmarks/README.md``.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from pathlib import Path

import mesa
import numpy as np

from borderabm.geography import build_world
from borderabm.model import BorderModel
from borderabm.scenario import load_scenario

REPO = Path(__file__).resolve().parent.parent


def timed(function, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    rows = []
    for cell_km in (2.0, 5.0, 10.0, 20.0):
        seconds, world = timed(lambda km=cell_km: build_world(km, use_cache=False))
        rows.append(
            (
                f"build world {cell_km:g} km, uncached ({world.grid.width}x{world.grid.height})",
                f"{seconds:.3f} s",
            )
        )
    with tempfile.TemporaryDirectory() as cache:
        build_world(5.0, cache_dir=Path(cache))
        seconds, _ = timed(lambda: build_world(5.0, cache_dir=Path(cache)), repeat=5)
        rows.append(("load world 5 km from the disk cache", f"{seconds * 1000:.1f} ms"))

    seconds, _ = timed(lambda: load_scenario(REPO / "scenarios" / "closures_oct2025.toml"))
    rows.append(("load + validate a scenario file", f"{seconds * 1000:.1f} ms"))

    settings = load_scenario(REPO / "scenarios" / "baseline.toml")
    world = build_world(settings.map.resolution_km)

    def year():
        model = BorderModel(settings, world=world)
        model.run()
        return model

    seconds, _ = timed(year)
    rows.append(("baseline, 365 days, model frame (no agents yet)", f"{seconds:.3f} s"))

    print(
        f"borderabm benchmarks — Python {platform.python_version()}, Mesa {mesa.__version__}, "
        f"numpy {np.__version__}, {platform.machine()}"
    )
    print()
    print("| what | median of runs |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
