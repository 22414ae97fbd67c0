"""Per-browser-session memory of the page: small settings that survive a reload, and memory hygiene.

What a reload must bring back (the scenario, seed, days, levers and day of the run; the last
comparison asked for) is a few hundred bytes, kept here by Solara's session id (a browser cookie).
Models are never kept here: they belong to the page's kernel and are freed when its tab closes;
a reload rebuilds the run and fast-forwards it (in the page's play thread), which is
deterministic.

The store is keyed by the session cookie, so every tab of one browser shares it: each tab keeps
its own run while open (runs are kernel-scoped, one kernel per tab), but what a reload or a new
tab brings back is the run of whichever tab saved last. A link (``?scenario=...``) always opens
its own run, unless it is the link that opened the saved run (then a reload keeps that run).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections import OrderedDict
from typing import Any

import solara

MAX_SESSIONS = 1_000  # oldest forgotten first; each entry is a few hundred bytes
_STORE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_LOCK = threading.Lock()


def _session_id() -> str | None:
    try:
        return solara.get_session_id()
    except Exception:  # noqa: BLE001 - outside a server kernel (tests, scripts) nothing is kept
        return None


def remember(key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` for this browser session."""
    session = _session_id()
    if session is None:
        return
    with _LOCK:
        entry = _STORE.setdefault(session, {})
        entry[key] = value
        _STORE.move_to_end(session)
        while len(_STORE) > MAX_SESSIONS:
            _STORE.popitem(last=False)


def recall(key: str) -> Any:
    """What was kept under ``key`` for this browser session (None if nothing)."""
    session = _session_id()
    if session is None:
        return None
    with _LOCK:
        return _STORE.get(session, {}).get(key)


def _malloc_trim() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def release_memory() -> None:
    """Collect garbage, then hand freed heap pages back to the system (glibc ``malloc_trim``).

    A model's arrays are allocated from the stepping thread's malloc arena; without the trim, the
    pages they free stay with the process and the server's memory only ever grows.
    """
    gc.collect()
    _malloc_trim()


def release_memory_later(delays_s: tuple[float, ...] = (1.0, 5.0)) -> None:
    """:func:`release_memory` in a moment, off the caller's thread (after a kernel has closed).

    Twice: Solara drops the closed kernel's last references only after its own deferred clean-up.
    """
    for delay in delays_s:
        timer = threading.Timer(delay, release_memory)
        timer.daemon = True
        timer.start()
