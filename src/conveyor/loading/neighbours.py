"""The other DAGs a one-off run of one DAG file needs: those its tasks trigger or wait for.

``conveyor run FILE`` parses only that file. A ``TriggerDagRunOperator`` or an
``ExternalTaskSensor`` of it may name a DAG defined in another file of the same folder, as
DAG folders are written for a scheduler that parses them all. The ids are read from the
parsed DAG's templated fields (``trigger_dag_id``, ``external_dag_id``) when written as plain
text; the folder's DAG files that mention such an id are the ones worth parsing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.loading.processor import find_dag_files
from conveyor.serialized import SerializedDag

#: Templated fields that name another DAG: what the task does with it.
TRIGGER_FIELD = "trigger_dag_id"
WAIT_FIELD = "external_dag_id"


@dataclass
class References:
    """DAG ids a DAG's tasks trigger, and those they wait for (with the waiting tasks)."""

    triggered: set[str] = field(default_factory=set)
    awaited: dict[str, list[str]] = field(default_factory=dict)

    @property
    def dag_ids(self) -> set[str]:
        return self.triggered | set(self.awaited)


def _plain(value: object) -> str | None:
    """A DAG id written as text; a template (rendered only when the task runs) is not."""
    if isinstance(value, str) and value and "{{" not in value and "{%" not in value:
        return value
    return None


def references(structure: SerializedDag) -> References:
    """What the DAG's tasks trigger (``trigger_dag_id``) and wait for: a sensor's
    ``external_dag_id`` (a marker such as ``ExternalTaskMarker`` names a DAG that waits for
    it, not one it waits for)."""
    found = References()
    for task_id, task in structure.tasks.items():
        fields = task.raw.get("fields") or {}
        target = _plain(fields.get(TRIGGER_FIELD))
        if target is not None:
            found.triggered.add(target)
        awaited = _plain(fields.get(WAIT_FIELD))
        if awaited is not None and task.operator_name.endswith("Sensor"):
            found.awaited.setdefault(awaited, []).append(task_id)
    return found


def files_naming(folder: Path, dag_ids: Iterable[str], *, skip: Iterable[Path]) -> list[Path]:
    """The DAG files under ``folder`` (but those in ``skip``) whose text mentions one of
    ``dag_ids``: the files that may define them."""
    wanted = [d for d in dag_ids if d]
    skipped = {p.resolve() for p in skip}
    found = []
    for path in find_dag_files(folder):
        if path.resolve() in skipped:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if any(dag_id in text for dag_id in wanted):
            found.append(path)
    return found
