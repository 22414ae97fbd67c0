"""The one atomic file writer: readers never see half a file, whatever layer writes it.

At the bottom of the package (standard library only), so the world's cache, the results store,
reports and the browser all write files the same way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _process_umask() -> int:
    """The process's file-creation mask, read without changing it where the system allows.

    Linux reports it in ``/proc/self/status``; elsewhere it can only be read by setting it and
    setting it back, which is why this runs once, at import, and never again.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Written files get the mode a plain ``open()`` would give them (0o644 under the usual umask 022; a
# user's stricter umask keeps results private). Read once at import: ``os.umask`` can only be read
# by changing it, which is not safe while other threads create files.
FILE_MODE = 0o666 & ~_process_umask()


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a hidden temporary file in the same folder, then rename over ``path``.

    The one atomic writer of the package: readers never see half a file, and a crash leaves only
    a hidden ``.NAME.*.tmp`` file (which the results store clears when it opens). The file gets
    :data:`FILE_MODE`.

    Args:
        path: The file to write; its folder is created if need be.
        write: Writes the content to the temporary path it is given.

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        os.chmod(temp, FILE_MODE)  # mkstemp makes 0600 files
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
