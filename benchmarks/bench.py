"""borderabm benchmarks. Prints a Markdown table; record the figures in ``benchmarks/README.md``.

Run with ``make bench`` (about a minute). Measures:

* building the world (2-20 km) and the route fields, with and without the disk cache;
* the full model on the default scenario (baseline, 365 days): agent-steps per second;
* the reference: a Mesa 3.5 ``CellAgent`` random walk with the same number of agents on a grid of
  the same size (``OrthogonalMooreGrid``), and the ratio of the two (target: >= 20x);
* a 1,000,000-agent scenario over 365 days: wall time and peak memory (run in a child process so
  that its peak is its own; targets: < 10 minutes, < 4 GB);
* the baseline at one agent per person or truck (``scale.people_per_agent = 1``, the refugee groups
  split into single people so that the people stay the same): a few million agents over 365 days,
  wall time and peak memory in a child process (issue 12: < 1 minute on two cores, < 8 GB);
* the history 2014-2025 (4,383 days) at the default scale, in a child process pinned to one core:
  wall and CPU time of building and running the model (issue 13: < 10 s on one core);
* the same twelve years with 1% of every kind of agent (``--history-floor``): what a day costs when
  almost no agent acts, i.e. the fixed cost of the day's array operations, which no saving on the
  agents' work can go below.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid

from borderabm.model import BorderModel
from borderabm.scenario import load_scenario
from borderabm.world import build_world
from borderabm.world.routes import build_routes

REPO = Path(__file__).resolve().parent.parent
FLOOR_SHARE = 0.01  # of every kind of agent, for the fixed cost of a day
MILLION = {
    "population.traders": 100_000,
    "population.refugees": 850_000,
    "population.militants": 20_000,
    "patrols.units": 30_000,
    "scale.people_per_agent": 2,
}


def timed(function, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


class Walker(CellAgent):
    """The reference: one Mesa agent object per agent, a random step to a Moore neighbour."""

    def __init__(self, model: mesa.Model, cell) -> None:
        super().__init__(model)
        self.cell = cell

    def step(self) -> None:
        self.cell = self.cell.neighborhood.select_random_cell()


class RandomWalk(mesa.Model):
    def __init__(self, agents: int, width: int, height: int, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.grid = OrthogonalMooreGrid((width, height), torus=False, random=self.random)
        cells = list(self.grid.all_cells.cells)
        for _ in range(agents):
            Walker(self, self.random.choice(cells))

    def step(self) -> None:
        self.agents.do("step")


def mesa_reference_rate(agents: int, width: int, height: int, steps: int = 10) -> float:
    model = RandomWalk(agents, width, height)
    start = time.perf_counter()
    for _ in range(steps):
        model.step()
    return agents * steps / (time.perf_counter() - start)


def million_agent_run() -> dict:
    """Run in a child process: 1,000,000 agents for 365 days; wall time and peak RSS."""
    return timed_big_run(load_scenario(REPO / "scenarios" / "baseline.toml", MILLION))


def one_agent_per_person_run() -> dict:
    """Run in a child process: the baseline with one agent per person or truck, for 365 days."""
    baseline = load_scenario(REPO / "scenarios" / "baseline.toml")
    scale = baseline.scale.people_per_agent
    settings = load_scenario(
        REPO / "scenarios" / "baseline.toml",
        {
            "scale.people_per_agent": 1,
            "population.refugees": baseline.population.refugees * scale,
            "population.communities": (baseline.population.communities or 0) * scale,
        },
    )
    return timed_big_run(settings)


def history_run(share: float = 1.0) -> dict:
    """Run in a child process on one core: the history 2014-2025, with ``share`` of every kind.

    At ``share`` 1 this is the default scale. A small share keeps every rule, event and day but
    leaves almost no agent to act: the time left is the day's fixed cost.
    """
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    path = REPO / "scenarios" / "history_2014_2025.toml"
    overrides = {}
    if share != 1.0:
        full = load_scenario(path)
        population = full.population
        counts = {
            "traders": population.traders,
            "refugees": population.refugees,
            "communities": population.communities or 0,
            "militants": population.militants,
        }
        overrides = {f"population.{kind}": max(1, round(count * share))
                     for kind, count in counts.items()}  # fmt: skip
        overrides["gate_travellers.people_scale"] = full.gate_travellers.people_scale * share
    cpu = time.process_time()
    result = timed_big_run(load_scenario(path, overrides))
    return {**result, "cpu_seconds": time.process_time() - cpu}


def timed_big_run(settings) -> dict:
    """Build and run one model to its horizon: agents, wall time and this process's peak memory."""
    start = time.perf_counter()
    model = BorderModel(settings)
    agents = model.agent_count
    model.run()
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    return {"agents": agents, "seconds": seconds, "peak_gb": peak_gb, "days": model.day}


def child_run(flag: str) -> dict:
    """One of the big runs in a child process, so that its peak memory is its own."""
    child = subprocess.run([sys.executable, __file__, flag], capture_output=True, text=True,
                           check=True)  # fmt: skip
    return json.loads(child.stdout)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--million":
        print(json.dumps(million_agent_run()))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--one-per-person":
        print(json.dumps(one_agent_per_person_run()))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--history":
        print(json.dumps(history_run()))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--history-floor":
        print(json.dumps(history_run(FLOOR_SHARE)))
        return
    rows = []
    for cell_km in (2.0, 5.0, 10.0, 20.0):
        seconds, world = timed(lambda km=cell_km: build_world(km, use_cache=False))
        rows.append((f"build world {cell_km:g} km, uncached ({world.grid.width}x{world.grid.height})",
                     f"{seconds:.3f} s"))  # fmt: skip
    with tempfile.TemporaryDirectory() as cache:
        build_world(5.0, cache_dir=Path(cache))
        seconds, _ = timed(lambda: build_world(5.0, cache_dir=Path(cache)), repeat=5)
        rows.append(("load world 5 km from the disk cache", f"{seconds * 1000:.1f} ms"))
    world = build_world(5.0)
    seconds, routes = timed(lambda: build_routes(world, use_cache=False), repeat=1)
    rows.append((f"build route fields 5 km, uncached ({len(routes.node_kind)} nodes)",
                 f"{seconds:.3f} s"))  # fmt: skip
    seconds, _ = timed(lambda: load_scenario(REPO / "scenarios" / "closures_oct2025.toml"))
    rows.append(("load + validate a scenario file", f"{seconds * 1000:.1f} ms"))

    settings = load_scenario(REPO / "scenarios" / "baseline.toml")

    def year() -> BorderModel:
        model = BorderModel(settings, world=world, routes=routes)
        model.run()
        return model

    seconds, model = timed(year)
    agents = model.agent_count
    model_rate = agents * model.day / seconds
    rows.append((f"default scenario (baseline): {agents:,} agents x 365 days", f"{seconds:.2f} s"))
    rows.append(("  full model, agent-steps per second", f"{model_rate:,.0f}"))
    reference = mesa_reference_rate(agents, world.grid.width, world.grid.height)
    rows.append((f"  Mesa CellAgent random walk, {agents:,} agents, "
                 f"{world.grid.width}x{world.grid.height} grid", f"{reference:,.0f}"))  # fmt: skip
    rows.append(("  ratio full model / Mesa reference (target >= 20)",
                 f"{model_rate / reference:.1f}x"))  # fmt: skip

    million = child_run("--million")
    rows.append((f"{million['agents']:,} agents x {million['days']} days (target < 600 s)",
                 f"{million['seconds']:.1f} s"))  # fmt: skip
    rows.append(("  peak memory (target < 4 GB)", f"{million['peak_gb']:.2f} GB"))
    person = child_run("--one-per-person")
    rows.append((f"baseline, one agent per person or truck: {person['agents']:,} agents x "
                 f"{person['days']} days (target < 60 s)", f"{person['seconds']:.1f} s"))  # fmt: skip
    rows.append(("  peak memory (target < 8 GB)", f"{person['peak_gb']:.2f} GB"))
    history = child_run("--history")
    rows.append((f"history 2014-2025 on one core: {history['agents']:,} agents x "
                 f"{history['days']:,} days (target < 10 s)",
                 f"{history['seconds']:.1f} s ({history['cpu_seconds']:.1f} s CPU)"))  # fmt: skip
    rows.append(("  peak memory", f"{history['peak_gb']:.2f} GB"))
    floor = child_run("--history-floor")
    rows.append((f"  the same with {FLOOR_SHARE:.0%} of every kind ({floor['agents']:,} agents): "
                 "the day's fixed cost", f"{floor['cpu_seconds']:.1f} s CPU"))  # fmt: skip

    print(f"borderabm benchmarks — Python {platform.python_version()}, Mesa {mesa.__version__}, "
          f"numpy {np.__version__}, {platform.machine()}")  # fmt: skip
    print()
    print("| what | measured |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
