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

The manifest is a :class:`Manifest`: the sweep, the validation suite and the calibration write it
and read it back through the same model (``write_manifest``, ``read_manifest``), so a key that is
missing or of the wrong type is one error naming the file, not a ``KeyError`` deep in a reader.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import platform
import stat
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from borderabm.files import atomic_write

MANIFEST = "manifest.json"
RUNS = "runs"
SERIES = "series"


# File names made from user text (scenario and sweep names) stay this short: 255 bytes is the
# usual limit of one path component, and the store adds prefixes and suffixes.
MAX_NAME_BYTES = 100
# Run rows must have these columns for the store to be summarised or resumed.
RUN_COLUMNS = ("run_id", "scenario", "point", "replicate", "seed")
# Run-row columns that must hold whole numbers, and those that must hold text.
INTEGER_COLUMNS = ("point", "replicate", "seed")
TEXT_COLUMNS = ("run_id", "scenario")
# A manifest is a few KiB; anything far larger is not one (and /dev/zero would never end).
MAX_MANIFEST_BYTES = 4 * 2**20


class StoreError(ValueError):
    """A results directory that cannot be used: another sweep's, corrupt, or not writable.

    A ValueError, so readers that already treat unreadable files as bad input keep doing so.
    """


def safe_file_name(name: str) -> str:
    """A name made safe to be one path component inside a chosen folder.

    Names that are already safe (no path separators, control characters or leading dot; at most
    :data:`MAX_NAME_BYTES` bytes of UTF-8) are kept as they are, so existing stores keep their
    layout. Others have each unsafe character replaced by ``_`` and, when changed or cut short,
    a short hash of the full name appended, so different names never share a folder.

    Args:
        name: User text, e.g. a scenario or sweep name.

    Returns:
        A non-empty file name that cannot climb out of its folder.
    """
    cleaned = "".join(c if c.isprintable() and c not in '/\\:*?"<>|' else "_" for c in name).lstrip(
        "."
    )
    if cleaned == name and name and len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cut = cleaned.encode("utf-8")[: MAX_NAME_BYTES - 11].decode("utf-8", "ignore")
    return f"{cut}-{digest}" if cut else digest


def default_results_dir(name: str, prefix: str = "") -> Path:
    """``results/<prefix><name>``, with the name made safe to be a folder name."""
    return Path("results") / safe_file_name(prefix + name)


def write_failure(error: OSError, root: Path) -> StoreError:
    """A store error for a failed write (full disk, no permission), saying that runs are kept."""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason = "no space left on the device"
    where = error.filename or root
    return StoreError(
        f"{where}: cannot write: {reason} (finished runs are kept in {root}; "
        f"run the same command again to resume)"
    )


class _Record(BaseModel):
    """A part of the manifest: keys it does not know are kept as they are (older and newer files)."""

    model_config = ConfigDict(extra="allow")


class SweepRecord(_Record):
    """Which sweep (or suite) made the store."""

    name: str | None = None
    file: str | None = None
    sha256: str | None = None


class ScenarioRecord(_Record):
    """One scenario file of the sweep, as it was when the sweep ran."""

    file: str | None = None
    sha256: str | None = None


class DesignRecord(_Record):
    """The sweep's design: its kind, its parameters and every design point."""

    kind: str | None = None
    samples: int | None = None
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list)


class Manifest(_Record):
    """``manifest.json``: what a results store holds, made by which code, when.

    Only the keys a writer sets are written (``model_dump(exclude_unset=True)``), so a validation
    store's manifest has no design and a sweep's no facts, and the files stay as they were.
    """

    fingerprint: str | None = None  # decides whether a store may be resumed by the same work
    model_code_sha256: str | None = None  # validation: the model code its runs were made by
    sweep: SweepRecord | None = None
    facts: list[str] | None = None  # validation: the facts checked
    scenarios: dict[str, ScenarioRecord] = Field(default_factory=dict)
    design: DesignRecord | None = None
    replicates: int | None = None
    seeds: list[int] = Field(default_factory=list)
    days: int | None = None
    runs: int | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    started: str | None = None
    finished: str | None = None
    executed_last: int | None = None

    def document(self) -> dict[str, Any]:
        """The JSON object written to disk: the keys set, in the order above, then any others."""
        return self.model_dump(exclude_unset=True)

    def updated(self, **changes: Any) -> Manifest:
        """A copy with some keys set (e.g. ``finished``), validated like a manifest read from disk.

        Raises:
            ValidationError: If a value has the wrong type.
        """
        return Manifest.model_validate({**self.document(), **changes})


class ResultsStore:
    """One sweep's results directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # Writing ---------------------------------------------------------------------------------
    def open_for(self, manifest: Manifest) -> None:
        """Create the directory, or check that an existing one holds this same work.

        Raises:
            StoreError: If the directory holds results of a different sweep, or its manifest is
                not one (see :meth:`read_manifest`).
        """
        existing = self.read_manifest()
        if existing is not None and existing.fingerprint != manifest.fingerprint:
            raise StoreError(
                f"{self.root}: holds results of a different sweep "
                f"({self.sweep_name(existing.document())!r}) (allowed: the same sweep, to "
                "resume it; use a new directory for another)"
            )
        if existing is not None and existing.started is not None:
            manifest = manifest.model_copy(update={"started": existing.started})
        self.write_manifest(manifest)
        self.remove_partial_files()

    def remove_partial_files(self) -> None:
        """Delete temporary files left by runs that were killed while writing."""
        for folder in (self.root / RUNS, self.root / SERIES):
            if folder.exists():
                for temp in folder.rglob(".*.tmp"):
                    temp.unlink(missing_ok=True)

    def write_manifest(self, manifest: Manifest | dict[str, Any]) -> None:
        """Write the manifest (atomically), as strict JSON.

        Args:
            manifest: A :class:`Manifest`, or a plain JSON object (a hand-made store in a test).

        Raises:
            StoreError: If it holds a value JSON cannot hold (NaN, an infinity).
        """
        document = manifest.document() if isinstance(manifest, Manifest) else manifest
        try:  # keeps the sweep file's order
            text = json.dumps(document, indent=2, default=str, allow_nan=False) + "\n"
        except ValueError as error:
            raise StoreError(f"{self.root / MANIFEST}: cannot write: {error} (allowed: finite "
                             "numbers)") from None  # fmt: skip
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
        return (
            self.root
            / SERIES
            / f"scenario={safe_file_name(scenario)}"
            / f"point={point}"
            / (f"{run_id}.parquet")
        )

    def manifest(self) -> dict[str, Any] | None:
        """The manifest as the JSON object on disk, or None if there is none yet.

        For readers that check its shape themselves; :meth:`read_manifest` gives it typed.

        Raises:
            StoreError: Naming the file, if it cannot be read or is not a JSON object.
        """
        path = self.root / MANIFEST
        try:
            if regular_file_size(path) is None:
                return None
            with path.open("rb") as handle:  # read at most the cap, even if the file grows
                raw = handle.read(MAX_MANIFEST_BYTES + 1)
            if len(raw) > MAX_MANIFEST_BYTES:
                raise StoreError(
                    f"{path}: cannot read: larger than {MAX_MANIFEST_BYTES // 2**20} "
                    "MiB (allowed: the manifest.json that borderabm sweep writes)"
                )
            manifest = json.loads(raw.decode("utf-8"))
        except NotADirectoryError:  # the chosen folder, or a folder above it, is a file
            blocker = next(p for p in (self.root, *self.root.parents) if p.exists())
            raise StoreError(f"{blocker}: is a file, not a folder (allowed: a results folder, "
                             "new or written by borderabm)") from None  # fmt: skip
        except OSError as error:  # also a path the file system refuses (too long)
            raise StoreError(f"{path}: cannot read: {error.strerror or error}") from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise StoreError(f"{path}: cannot read: not JSON (allowed: the manifest.json that "
                             "borderabm sweep writes)") from None  # fmt: skip
        if not isinstance(manifest, dict):
            kinds = ((list, "an array"), (str, "a string"), (bool, "a boolean"),
                     (int | float, "a number"))  # fmt: skip
            kind = next((name for t, name in kinds if isinstance(manifest, t)), "null")
            raise StoreError(
                f"{path}: not a sweep manifest: a JSON object was expected, got {kind}"
            )
        return manifest

    def read_manifest(self) -> Manifest | None:
        """The manifest as a :class:`Manifest`, or None if there is none yet.

        Raises:
            StoreError: Naming the file and the key, if it cannot be read, is not a JSON object,
                or a key has the wrong type (e.g. ``"design": []``).
        """
        document = self.manifest()
        if document is None:
            return None
        try:
            return Manifest.model_validate(document)
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise StoreError(
                f"{self.root / MANIFEST}: not a manifest of borderabm: {key}: {first['msg']} "
                "(allowed: the manifest.json that borderabm sweep writes)"
            ) from None

    def sweep_name(self, manifest: dict[str, Any]) -> str:
        """The sweep's name as the manifest records it (the folder's name if it does not)."""
        sweep = manifest.get("sweep")
        name = sweep.get("name") if isinstance(sweep, dict) else None
        return str(name) if name is not None else self.root.name

    def done(self) -> set[str]:
        """Ids of the runs already stored (a damaged row file does not count: it is redone)."""
        folder = self.root / RUNS
        if not folder.exists():
            return set()
        return {p.stem for p in folder.glob("*.parquet")
                if not p.name.startswith(".") and looks_complete(p)}  # fmt: skip

    def runs(self) -> pd.DataFrame:
        """One row per finished run (parameters and summary metrics), in a stable order."""
        folder = self.root / RUNS
        files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
        if not files:
            return pd.DataFrame()
        frames = []
        for path in files:
            frame = read_table(path)
            problem = run_row_problem(frame)
            if problem:
                raise StoreError(f"{path}: not a run row of borderabm sweep ({problem}); "
                                 "delete it and run the sweep again to redo that run")  # fmt: skip
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values(["scenario", "point", "replicate"]).reset_index(drop=True)

    def series(self, scenario: str | None = None, point: int | None = None) -> pd.DataFrame:
        """Daily series, optionally of one scenario and design point (read only what is asked)."""
        folder = self.root / SERIES
        if scenario is not None:
            folder = folder / f"scenario={safe_file_name(scenario)}"
            if point is not None:
                folder = folder / f"point={point}"
        files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))
        frames = []
        for path in files:
            frame = read_table(path)
            frame.insert(0, "run_id", path.stem)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def regular_file_size(path: Path) -> int | None:
    """The size of a regular file, or None if nothing is there; checked before any read.

    Opening a named pipe blocks until someone writes to it, and a device such as /dev/zero never
    ends, so the store never opens what is not a regular file (a symlink counts as its target).

    Raises:
        StoreError: Naming the path, if it is a folder, pipe, device or socket.
        OSError: If the file system refuses the path (too long, no permission).
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else (
            "a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device or socket")  # fmt: skip
        raise StoreError(f"{path}: cannot read: not a regular file but {kind} (allowed: the "
                         "files that borderabm sweep writes)")  # fmt: skip
    return info.st_size


def run_row_problem(frame: pd.DataFrame) -> str:
    """What makes a table read from ``runs/`` not a run row (empty if it is one).

    Checks the columns every reader relies on: the ids are text, the design point, replicate and
    seed whole numbers, and every summary metric a number, so a hand-edited row is reported
    here, naming its file, rather than failing later in a summary, a comparison or PRIM.
    """
    from pandas.api import types

    from borderabm.metrics import metric_info

    missing = [c for c in RUN_COLUMNS if c not in frame]
    if missing:
        return f"missing columns {', '.join(missing)}"
    if len(frame) != 1:
        return f"{len(frame)} rows instead of one"
    for column in INTEGER_COLUMNS:
        kind = frame[column].dtype
        if not types.is_integer_dtype(kind) or types.is_bool_dtype(kind):
            return f"{column}: {_value_of(frame, column)} is not a whole number"
    for column in TEXT_COLUMNS:
        if not isinstance(frame[column].iloc[0], str):
            return f"{column}: {_value_of(frame, column)} is not text"
    for column in frame.columns:
        if column in RUN_COLUMNS or not isinstance(column, str):
            continue
        try:
            metric_info(column)
        except KeyError:
            continue  # a parameter of the design: any type the sweep allows
        kind = frame[column].dtype
        if not types.is_numeric_dtype(kind) or types.is_bool_dtype(kind):
            return f"{column}: {_value_of(frame, column)} is not a number"
    return ""


def _value_of(frame: pd.DataFrame, column: str) -> str:
    """The first value of a column, shortened, for an error message."""
    value = frame[column].iloc[0]
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= 40 else text[:37] + "..."


def looks_complete(path: Path) -> bool:
    """Whether a Parquet file is whole: it starts and ends with the magic bytes ``PAR1``.

    Cheap (two small reads), so resuming a large store does not read every row. Files are
    written atomically, so only a damaged disk or a hand edit leaves an incomplete one.
    """
    magic = b"PAR1"
    try:
        size = regular_file_size(path)  # a pipe or a device is never a finished run
        if size is None or size < 12:
            return False
        with path.open("rb") as handle:
            head = handle.read(4)
            if handle.seek(0, os.SEEK_END) < 12:
                return False
            handle.seek(-4, os.SEEK_END)
            return head == magic and handle.read(4) == magic
    except (OSError, StoreError):
        return False


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One Parquet file of the store (only ``columns``, if given).

    Raises:
        StoreError: Naming the file, if it is truncated, corrupt or not Parquet.
    """
    import pyarrow as pa

    try:
        regular_file_size(path)  # a pipe would block the read, a device never end
        return pd.read_parquet(path, columns=columns)
    except StoreError:
        raise
    except OSError as error:
        reason = error.strerror or str(error).splitlines()[0]
        raise StoreError(f"{path}: cannot read: {reason}") from None
    except (ValueError, pa.ArrowException) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StoreError(f"{path}: not a readable Parquet file ({detail}); delete it and run the "
                         "sweep again to redo that run") from None  # fmt: skip


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
