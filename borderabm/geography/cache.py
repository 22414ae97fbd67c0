"""A small disk cache for derived geography (worlds, route fields), keyed by content hashes.

Entries are pickles written atomically; a damaged or stale entry is rebuilt, and a cache folder
that cannot be written only costs speed.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """Where cached worlds and route fields live: ``$BORDERABM_CACHE_DIR`` or ~/.cache/borderabm."""
    return Path(os.environ.get("BORDERABM_CACHE_DIR", Path.home() / ".cache" / "borderabm"))


def load_or_build[T](path: Path, build: Callable[[], T]) -> T:
    """Load ``path`` if it holds a readable entry, else build the value and store it there."""
    if path.exists():
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            pass  # a stale or damaged entry is rebuilt below
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
    except OSError:
        pass  # an unwritable cache only costs speed
    return value
