"""``FileSensor``: waits until a path (or a glob pattern) exists."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, ClassVar

from conveyor.sensors.base import BaseSensor


class FileSensor(BaseSensor):
    """Done when ``filepath`` exists; with wildcards, when anything matches. Returns the
    matching paths."""

    template_fields: ClassVar[tuple[str, ...]] = ("filepath",)

    def __init__(self, task_id: str, *, filepath: str, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.filepath = filepath

    def poke(self, context: dict[str, Any]) -> Any:
        path = str(Path(self.filepath).expanduser())
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        found = [m for m in matches if Path(m).exists()]
        print(f"[conveyor] {self.task_id}: looking for {path}: {len(found)} found", flush=True)
        return found or False
