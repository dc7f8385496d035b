"""Files only the user who runs Conveyor may read: its home, store, keys, logs and code cache.

The home holds the Fernet key and the session key, the SQLite store holds every connection
and run, and task logs hold what tasks print; none of it is for the other users of the
machine. Folders are made 0700 and files 0600, whatever the umask; processes started by the
``conveyor`` command also set umask 077, so files they make in passing (SQLite's journal,
XCom spill, a task's own output) are private too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import IO, Any

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def restrict_umask() -> None:
    """Make every file this process creates from now on private to its user."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 folders; existing ones stay as they are.

    A try's log folder is made on every hop: the common case (only the last folder missing)
    costs one ``mkdir`` and one ``stat``, no ``chmod`` unless the umask cut the mode."""
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:  # there already, or another process made it first
        return path
    except FileNotFoundError:  # a parent is missing: make the parents, then this one
        if path.parent == path:
            raise
        private_dir(path.parent)
        return private_dir(path)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode is cut by the umask; never widened
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as a 0600 file if it does not exist yet."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):  # made before, by us or another process
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    return path


def private_open(path: Path, mode: str = "a", **kwargs: Any) -> IO[Any]:
    """``open()`` that creates a missing file as 0600."""
    return open(path, mode, opener=_private_opener, **kwargs)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, PRIVATE_FILE)
