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
from pathlib import Path
from typing import IO, Any

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def restrict_umask() -> None:
    """Make every file this process creates from now on private to its user."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 folders; existing ones stay as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it first
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is cut by the umask; never widened
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
