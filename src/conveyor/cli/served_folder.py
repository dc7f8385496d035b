"""The DAG folder a running scheduler serves, written into its home for the CLI to read.

``conveyor standalone --dags-folder X`` serves X; a command typed in another shell with the
same home but no ``dags_folder`` setting of its own would otherwise read the default folder
(``dags test ID`` would not find the DAG, ``dags list`` would parse another folder into the
same store). The scheduler records its folder with its process id and host; the CLI's
settings use it while that process lives (:func:`served`), and a ``dags_folder`` set in the
environment, the config file or on the command line always wins.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

FILE_NAME = "served_dags_folder.json"


@contextmanager
def recorded(home: Path, dags_folder: Path) -> Iterator[None]:
    """Record ``dags_folder`` as served by this process while the block runs."""
    path = home / FILE_NAME
    mine = {"dags_folder": str(dags_folder), "pid": os.getpid(), "host": socket.gethostname()}
    try:
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mine))
    except OSError:  # a read-only home: the CLI falls back to its own settings
        yield
        return
    try:
        yield
    finally:
        with suppress(OSError, ValueError):
            if json.loads(path.read_text()) == mine:  # another scheduler's record stays
                path.unlink()


def served(home: Path) -> Path | None:
    """The DAG folder a live scheduler of this home on this host serves; None if none."""
    try:
        data = json.loads((home / FILE_NAME).read_text())
        pid, host, folder = int(data["pid"]), str(data["host"]), Path(data["dags_folder"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host != socket.gethostname() or not _alive(pid) or not folder.is_dir():
        return None
    return folder


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # a reused pid is not a scheduler
        with suppress(OSError):
            return b"conveyor" in cmdline.read_bytes()
    return True
