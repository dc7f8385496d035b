"""An operator class of the user's own, used from YAML by its import path.

A YAML task names it as ``operator: helpers.operators:CountLinesOperator`` and passes its
own arguments under ``arguments:``; the task options (retries, queue ...) stay beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor import BaseOperator


class CountLinesOperator(BaseOperator):
    """Count the lines of a text file; the count is the task's XCom."""

    template_fields = ("path",)  # rendered with Jinja before execute, like bash_command
    ui_color = "#e4ecf7"

    def __init__(self, task_id: str, *, path: str, skip_blank: bool = True, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.path = path
        self.skip_blank = skip_blank

    def execute(self, context: dict[str, Any]) -> int:
        lines = Path(self.path).read_text().splitlines()
        return sum(1 for line in lines if line.strip() or not self.skip_blank)
