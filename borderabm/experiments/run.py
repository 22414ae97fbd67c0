"""Run one scenario end to end and write its outputs (daily Parquet series and a JSON summary)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from borderabm import __version__
from borderabm.model import BorderModel
from borderabm.scenario import Scenario


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


def run_scenario(settings: Scenario, days: int | None = None) -> RunResult:
    """Build the model for a scenario, run it and collect its results."""
    model = BorderModel(settings)
    agents = model.agent_count
    model.run(days)
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
    written = [
        _atomic(out_dir / "timeseries.parquet", lambda p: result.timeseries.to_parquet(p)),
        _atomic(
            out_dir / "summary.json",
            lambda p: p.write_text(
                dump_json({**result.record(), "version": __version__}, indent=2) + "\n"
            ),
        ),
        _atomic(
            out_dir / "scenario.json",
            lambda p: p.write_text(result.settings.model_dump_json(indent=2) + "\n"),
        ),
    ]
    return written


def _atomic(path: Path, write) -> Path:
    """Write through a temporary file in the same directory, then rename over ``path``."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        os.chmod(temp, 0o666 & ~_current_umask())  # mkstemp makes 0600 files; use normal modes
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
