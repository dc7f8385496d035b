"""``FileTrigger``: fires once a file (or a glob's match) exists."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from typing import Any

from conveyor.triggers.base import BaseTrigger, TriggerEvent


class FileTrigger(BaseTrigger):
    """Looks for ``filepath`` (a glob pattern allowed) every ``poke_interval`` seconds; the
    payload is the first match found."""

    def __init__(
        self, filepath: str, recursive: bool = False, poke_interval: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__()
        self.filepath = str(filepath)
        self.recursive = bool(recursive)
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "conveyor.triggers.file.FileTrigger",
            {
                "filepath": self.filepath,
                "recursive": self.recursive,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            for found in glob.glob(self.filepath, recursive=self.recursive):
                if os.path.isfile(found) or os.path.isdir(found):
                    yield TriggerEvent(found)
                    return
            await asyncio.sleep(self.poke_interval)
