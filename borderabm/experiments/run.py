"""The one way to build and run a model, and to write one run's outputs.

Every caller that builds a :class:`~borderabm.model.BorderModel` goes through :func:`build_model`
(the browser's Run tab, the calibration's probe) or runs one through :func:`run_one` (``borderabm
run``, the sweep engines, the EMA Workbench adapter, the calibration's verification runs), so a
run's world, seed and summary are made the same way everywhere: the same scenario and seed give the
same summary through the CLI, a sweep row and the Python API.

A run is described either by a validated :class:`~borderabm.scenario.Scenario` or by a
:class:`RunSpec`, the self-contained description a sweep hands to a worker process.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from borderabm import __version__
from borderabm.files import atomic_write
from borderabm.model import BorderModel
from borderabm.scenario import Scenario, validate_document
from borderabm.world import World, build_world
from borderabm.world.routes import RouteNetwork, build_routes

# Overrides that are part of every run of a sweep, not of its design point: not row columns.
RUN_LEVEL_KEYS = ("seed", "horizon_days")


def strict_json(value: Any) -> Any:
    """A copy of a JSON-like value with NaN and infinities as None, so it dumps as strict JSON.

    ``json.dumps`` would write them as ``NaN``/``Infinity``, which JSON parsers reject.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value


def dump_json(value: Any, indent: int | None = None) -> str:
    """Strict JSON: NaN and infinities written as null (see :func:`strict_json`)."""
    return json.dumps(strict_json(value), allow_nan=False, indent=indent, default=str)


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: everything a worker needs, with no path to read."""

    run_id: str
    scenario: str
    point: int
    replicate: int
    seed: int
    overrides: dict[str, Any]  # the design point's parameters (and the run's seed and days)
    document: dict[str, Any]  # the validated scenario, with overrides, seed and days applied

    @classmethod
    def of_scenario(
        cls, settings: Scenario, point: int, replicate: int, overrides: dict[str, Any]
    ) -> RunSpec:
        """The run of a validated scenario at a design point, with an id made from its content.

        Args:
            settings: The scenario with the point's overrides, seed and days applied.
            point: The design point's index.
            replicate: The replicate's index (0 first).
            overrides: The design point's parameters, as the run row records them.
        """
        document = settings.model_dump(mode="json")
        # The design point is part of the identity: two points may draw the same values (Morris
        # trajectories share grid levels), and each must keep its own stored run.
        identity = json.dumps({"point": point, "document": document}, sort_keys=True)
        return cls(
            run_id=hashlib.sha256(identity.encode()).hexdigest()[:20],
            scenario=settings.name,
            point=point,
            replicate=replicate,
            seed=settings.seed,
            overrides=dict(overrides),
            document=document,
        )

    def settings(self) -> Scenario:
        """The run's scenario, validated again from its document (as a worker receives it)."""
        return validate_document(self.document, f"run {self.run_id}")

    def row(self, summary: dict[str, float]) -> dict[str, Any]:
        """The run's row of the results store: ids, the design point's parameters, the summary."""
        row: dict[str, Any] = {
            "run_id": self.run_id,
            "scenario": self.scenario,
            "point": self.point,
            "replicate": self.replicate,
            "seed": self.seed,
        }
        row.update({k: v for k, v in self.overrides.items() if k not in RUN_LEVEL_KEYS})
        row.update(summary)
        return row


@dataclass(frozen=True)
class RunResult:
    """What one run produced."""

    settings: Scenario
    agents: int  # agents at the start of the run
    days: int
    summary: dict[str, float]
    timeseries: pd.DataFrame

    def record(self) -> dict:
        """The JSON object printed by ``borderabm run --json``."""
        return {
            "scenario": self.settings.name,
            "seed": self.settings.seed,
            "agents": self.agents,
            "days": self.days,
            "summary": self.summary,
        }


def geography(settings: Scenario) -> tuple[World, RouteNetwork]:
    """The world and route fields of a scenario's map: the process's shared read-only copies.

    The world cache hands every model of one process on the same map the same arrays, loaded from
    the disk cache once (see :mod:`borderabm.world.cache`).
    """
    world = build_world(settings.map.resolution_km, settings.map.buffer_km)
    return world, build_routes(world)


def build_model(settings: Scenario) -> BorderModel:
    """The model of a scenario, on the process's shared world: the one place that builds one.

    ``BatchBorderModel`` (``experiments/interop.py``) is a subclass that Mesa builds itself; it
    takes its world from :func:`geography` too.
    """
    world, routes = geography(settings)
    return BorderModel(settings, world=world, routes=routes)


def run_one(
    spec: Scenario | RunSpec,
    *,
    days: int | None = None,
    on_day: Callable[[BorderModel], None] | None = None,
) -> RunResult:
    """Build the model of a scenario (or of a sweep's run), run it and collect its results.

    Args:
        spec: A validated scenario, or a sweep's run (its document is validated again).
        days: Days to run; the scenario's horizon if None.
        on_day: Called with the model after every simulated day (e.g. to record a quantity the
            daily series does not hold).

    Returns:
        The run's summary (``BorderModel.summary``: totals of its daily series), the series, the
        number of agents at the start and the days simulated.
    """
    settings = spec.settings() if isinstance(spec, RunSpec) else spec
    model = build_model(settings)
    agents = model.agent_count
    if on_day is None:
        model.run(days)
    else:
        for _ in range(max(settings.horizon_days if days is None else days, 0)):
            model.step()
            on_day(model)
    return RunResult(settings, agents, model.day, model.summary(), model.timeseries())


def prepare_output_dir(out_dir: Path) -> None:
    """Create the output directory up front, so a bad path fails before any computing.

    Raises:
        OSError: If the directory cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    probe = out_dir / ".write-test"
    probe.write_bytes(b"")
    probe.unlink()


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """Write ``timeseries.parquet``, ``summary.json`` and ``scenario.json`` atomically."""
    prepare_output_dir(out_dir)
    summary = dump_json({**result.record(), "version": __version__}, indent=2) + "\n"
    scenario = result.settings.model_dump_json(indent=2) + "\n"
    files = {
        out_dir / "timeseries.parquet": lambda p: result.timeseries.to_parquet(p),
        out_dir / "summary.json": lambda p: p.write_text(summary),
        out_dir / "scenario.json": lambda p: p.write_text(scenario),
    }
    for path, write in files.items():
        atomic_write(path, write)
    return list(files)
