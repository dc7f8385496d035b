"""What goes wrong in a YAML DAG file, said so that the author can fix it without guessing.

Each :class:`Problem` names the file, line and column, the DAG and task, what was expected
and what was found. A file's problems are collected and raised together as one
:class:`YamlDagError`, a ``DagImportError``, so the DAG file processor records them as the
file's import error and goes on with the other files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conveyor.exceptions import ConveyorError, DagImportError


@dataclass(frozen=True)
class Problem:
    """One mistake in a DAG file. ``line`` and ``column`` count from 1."""

    file: str
    line: int | None
    column: int | None
    message: str
    dag_id: str | None = None
    task_id: str | None = None
    expected: str | None = None
    found: str | None = None

    @property
    def where(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    @property
    def detail(self) -> str:
        """The problem without its position: who, what, expected and found."""
        who = []
        if self.dag_id is not None:
            who.append(f"DAG {self.dag_id!r}")
        if self.task_id is not None:
            who.append(f"task {self.task_id!r}")
        text = f"{', '.join(who)}: {self.message}" if who else self.message
        if self.expected is not None:
            text += f": expected {self.expected}"
            if self.found is not None:
                text += f", found {self.found}"
        return text

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}"


class YamlDagError(DagImportError):
    """A YAML DAG file has problems; ``problems`` lists every one of them, in file order."""

    def __init__(self, fileloc: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            lines = "\n".join(f"  {p}" for p in self.problems)
            message = f"{len(self.problems)} problems in {fileloc}:\n{lines}"
        line = next((p.line for p in self.problems if p.line is not None), None)
        super().__init__(fileloc, message, line)

    def __str__(self) -> str:
        return self.message  # every problem already carries its file:line:column


class ExportError(ConveyorError):
    """A DAG cannot be written in the requested form; the message names the task and why."""

    def __init__(self, dag_id: str, task_id: str | None, reason: str) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.reason = reason
        who = f"DAG {dag_id!r}" + (f", task {task_id!r}" if task_id else "")
        super().__init__(f"{who}: {reason}")
