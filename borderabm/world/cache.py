"""Caches for derived geography (worlds, route fields): on disk, and shared in memory.

On disk, entries are pickles keyed by content hashes and written atomically; a damaged or stale
entry is rebuilt, and a cache folder that cannot be written only costs speed.

In memory, every model of one process that runs on the same map gets the *same* world and route
fields (``load_shared``): a browser session's Reset or a sweep's next run costs no new copy of the
~65 MB of route fields. Shared values are made read-only (every numpy array in them has
``writeable = False``), so no model can alter what another one reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from borderabm.files import atomic_write

# Shared values kept even when no model uses them, most recently used first: enough for the one map
# a UI server or a sweep uses (and its route fields) without holding on to every map ever loaded.
KEEP_RECENT = 4

_lock = threading.RLock()  # UI sessions build models on several threads; computing may nest
_in_use: weakref.WeakValueDictionary[tuple, Any] = weakref.WeakValueDictionary()
_recent: OrderedDict[tuple, Any] = OrderedDict()
_derived: dict[tuple[int, str], tuple[weakref.ref, Any]] = {}


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
    with contextlib.suppress(OSError):  # an unwritable cache only costs speed
        atomic_write(path, partial(_pickle_to, value))
    return value


def _pickle_to(value: object, path: Path) -> None:
    with path.open("wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_shared[T](path: Path, build: Callable[[], T]) -> T:
    """The one read-only in-memory copy of a disk-cache entry (loaded or built on first use).

    The entry is known by its path and the file's identity on disk, so an entry replaced or damaged
    on disk is read again (and rebuilt if need be) rather than served from memory.
    """
    with _lock:
        value = _in_use.get(_memory_key(path))
        if value is None:
            value = make_read_only(load_or_build(path, build))
        key = _memory_key(path)  # after a build, the file it has just written
        _in_use[key] = value
        _recent[key] = value
        _recent.move_to_end(key, last=False)
        while len(_recent) > KEEP_RECENT:
            _recent.popitem()
    return value


def _memory_key(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


def forget_shared() -> None:
    """Drop the in-memory copies (values still used by a model stay alive for that model)."""
    with _lock:
        _in_use.clear()
        _recent.clear()
        _derived.clear()


def derived[T](owner: object, name: str, compute: Callable[[], T]) -> T:
    """A read-only value computed once from ``owner`` and kept for as long as ``owner`` lives.

    Args:
        owner: The shared object the value is derived from (e.g. a route network).
        name: Which derived value.
        compute: Computes it (called at most once per live owner).
    """
    key = (id(owner), name)
    with _lock:
        entry = _derived.get(key)
        if entry is not None and entry[0]() is owner:
            return entry[1]
        value = make_read_only(compute())
        # Ids are reused after an owner dies: the callback drops its entries with it.
        _derived[key] = (weakref.ref(owner, partial(_forget, key)), value)
    return value


def _forget(key: tuple[int, str], _owner: weakref.ref) -> None:
    """Drop a derived value when its owner dies (ids are reused after that)."""
    _derived.pop(key, None)


def make_read_only[T](value: T) -> T:
    """Mark every numpy array in ``value`` (dataclasses, tuples, lists, dicts) as read-only."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            make_read_only(getattr(value, item.name))
    elif isinstance(value, tuple | list):
        for item in value:
            make_read_only(item)
    elif isinstance(value, dict):
        for item in value.values():
            make_read_only(item)
    return value
