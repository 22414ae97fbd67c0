"""The results store of a sweep: a manifest and Parquet tables; a crash loses only runs in flight.

```
DIR/manifest.json                                  what was run, with which code, when
DIR/runs/<run_id>.parquet                          one row per finished run: parameters + summary
DIR/series/scenario=<name>/point=<k>/<run_id>.parquet   the daily series of that run
```

Every file is written to a hidden temporary name in its folder and renamed into place, so readers
never see half a file (pyarrow and DuckDB skip names starting with ``.``). A run counts as done when
its ``runs/`` row exists; its series is written first. Read the tables with plain pandas
(``pd.read_parquet(DIR / "runs")``), pyarrow datasets or DuckDB
(``SELECT * FROM 'DIR/runs/*.parquet'``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
RUNS = "runs"
SERIES = "series"


class StoreError(Exception):
    """A results directory that cannot be used for this sweep."""


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a hidden temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


class ResultsStore:
    """One sweep's results directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # Writing ---------------------------------------------------------------------------------
    def open_for(self, manifest: dict[str, Any]) -> None:
        """Create the directory, or check that an existing one holds this same sweep.

        Raises:
            StoreError: If the directory holds results of a different sweep.
        """
        existing = self.manifest()
        if existing is not None and existing.get("fingerprint") != manifest["fingerprint"]:
            raise StoreError(
                f"{self.root} holds results of a different sweep "
                f"({existing.get('sweep', {}).get('name')!r}); use a new directory"
            )
        if existing is not None:
            manifest = {**manifest, "started": existing.get("started", manifest["started"])}
        self.write_manifest(manifest)
        self.remove_partial_files()

    def remove_partial_files(self) -> None:
        """Delete temporary files left by runs that were killed while writing."""
        for folder in (self.root / RUNS, self.root / SERIES):
            if folder.exists():
                for temp in folder.rglob(".*.tmp"):
                    temp.unlink(missing_ok=True)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest (atomically)."""
        text = json.dumps(manifest, indent=2, default=str) + "\n"  # keeps the sweep file's order
        atomic_write(self.root / MANIFEST, lambda p: p.write_text(text))

    def write_run(self, run_id: str, row: dict[str, Any], series: pd.DataFrame | None,
                  scenario: str, point: int) -> None:  # fmt: skip
        """Store one finished run: its series first, then its row (which marks it done)."""
        if series is not None:
            atomic_write(self.series_path(scenario, point, run_id),
                         lambda p: series.to_parquet(p, index=False))  # fmt: skip
        frame = pd.DataFrame([row])
        atomic_write(self.root / RUNS / f"{run_id}.parquet",
                     lambda p: frame.to_parquet(p, index=False))  # fmt: skip

    # Reading -----------------------------------------------------------------------------------
    def series_path(self, scenario: str, point: int, run_id: str) -> Path:
        """Where the daily series of one run is stored."""
        return self.root / SERIES / f"scenario={scenario}" / f"point={point}" / f"{run_id}.parquet"

    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if there is none yet."""
        path = self.root / MANIFEST
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def done(self) -> set[str]:
        """Ids of the runs already stored."""
        folder = self.root / RUNS
        if not folder.exists():
            return set()
        return {p.stem for p in folder.glob("*.parquet") if not p.name.startswith(".")}

    def runs(self) -> pd.DataFrame:
        """One row per finished run (parameters and summary metrics), in a stable order."""
        folder = self.root / RUNS
        files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
        if not files:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        return frame.sort_values(["scenario", "point", "replicate"]).reset_index(drop=True)

    def series(self, scenario: str | None = None, point: int | None = None) -> pd.DataFrame:
        """Daily series, optionally of one scenario and design point (read only what is asked)."""
        folder = self.root / SERIES
        if scenario is not None:
            folder = folder / f"scenario={scenario}"
            if point is not None:
                folder = folder / f"point={point}"
        files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))
        frames = []
        for path in files:
            frame = pd.read_parquet(path)
            frame.insert(0, "run_id", path.stem)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def environment() -> dict[str, str]:
    """Versions of what produced the results, and the git revision if there is one."""
    import mesa
    import numpy

    import borderabm

    revision = ""
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(borderabm.__file__).parent, capture_output=True,
            text=True, timeout=5, check=False,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        revision = ""
    return {
        "borderabm": borderabm.__version__,
        "git_revision": revision,
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
    }


def now() -> str:
    """The current UTC time, ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
