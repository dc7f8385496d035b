"""``FileSensor``: waits until a path (or a glob pattern) exists; ``FSHook``: the folder of a
file system connection."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, ClassVar

from conveyor.connections import get_connection
from conveyor.exceptions import NotFoundError
from conveyor.sensors.base import BaseSensor
from conveyor.triggers.file import FileTrigger

#: The connection Airflow's FileSensor names by default; without it, paths are as given.
DEFAULT_FS_CONNECTION = "fs_default"


def connection_path(fs_conn_id: str) -> str:
    """The folder a file system connection names (its extra ``path``; empty when it has none).
    ``fs_default`` may be missing: paths are then taken as given."""
    try:
        connection = get_connection(fs_conn_id)
    except NotFoundError:
        if fs_conn_id == DEFAULT_FS_CONNECTION:
            return ""
        raise
    return str(connection.extra_dejson.get("path") or "")


class FSHook:
    """Airflow's file system hook: ``get_path()`` is the folder its connection names, the
    base a ``FileSensor`` on the same connection puts a relative ``filepath`` under."""

    conn_name_attr = "fs_conn_id"
    default_conn_name = DEFAULT_FS_CONNECTION
    conn_type = "fs"
    hook_name = "File (path)"

    def __init__(self, fs_conn_id: str = DEFAULT_FS_CONNECTION, **kwargs: Any) -> None:
        self.fs_conn_id = fs_conn_id
        self.basepath = connection_path(fs_conn_id)

    def get_conn(self) -> None:
        """A file system needs no client: as in Airflow, there is none."""
        return None

    def get_path(self) -> str:
        return self.basepath

    def test_connection(self) -> tuple[bool, str]:
        if self.basepath and not Path(self.basepath).is_dir():
            return False, f"{self.basepath} is not a folder"
        return True, "Connection successfully tested"


class FileSensor(BaseSensor):
    """Done when ``filepath`` exists; with wildcards, when anything matches (``**`` across
    folders with ``recursive=True``). Returns the matching paths.

    ``fs_conn_id`` names a connection whose extra ``path`` a relative ``filepath`` is under,
    as in Airflow; ``fs_default`` may be missing (paths are then taken as given).
    """

    template_fields: ClassVar[tuple[str, ...]] = ("filepath",)

    def __init__(
        self,
        task_id: str,
        *,
        filepath: str,
        fs_conn_id: str | None = None,
        recursive: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = bool(recursive)

    def _base(self) -> str:
        return "" if self.fs_conn_id is None else connection_path(self.fs_conn_id)

    def poke(self, context: dict[str, Any]) -> Any:
        path = str(Path(os.path.join(self._base(), self.filepath)).expanduser())
        if glob.has_magic(path):
            matches = sorted(glob.glob(path, recursive=self.recursive))
        else:
            matches = [path]
        found = [m for m in matches if Path(m).exists()]
        print(f"[conveyor] {self.task_id}: looking for {path}: {len(found)} found", flush=True)
        return found or False

    def trigger_for(self, context: dict[str, Any]) -> Any:
        path = str(Path(os.path.join(self._base(), self.filepath)).expanduser())
        interval = self.poke_interval.total_seconds()
        return FileTrigger(path, recursive=self.recursive, poke_interval=interval)
