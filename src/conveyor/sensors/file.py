"""``FileSensor``: waits until a path (or a glob pattern) exists."""

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
        if self.fs_conn_id is None:
            return ""
        try:
            connection = get_connection(self.fs_conn_id)
        except NotFoundError:
            if self.fs_conn_id == DEFAULT_FS_CONNECTION:
                return ""
            raise
        return str(connection.extra.get("path") or "")

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
