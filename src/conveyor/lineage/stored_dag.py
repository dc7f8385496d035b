"""A DAG as its stored version describes it, with the attributes the DAG run events read
(``dag_id``, ``owner``, ``tags``, ``tasks`` ...): the scheduler imports no DAG file, and a
DAG run's events come from whichever process moved the run."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class StoredTask:
    task_id: str
    operator: str
    owner: str | None
    ui_color: str | None
    task_group_id: str | None
    downstream_task_ids: frozenset[str]


class StoredDag:
    """The serialized form (``loading/serialize.py``'s) read as a DAG."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.dag_id: str = raw["dag_id"]
        self.description: str | None = raw.get("description")
        self.doc_md: str | None = raw.get("doc_md")
        self.fileloc: str | None = raw.get("fileloc")
        self.start_date: str | None = raw.get("start_date")
        self.tags: list[str] = list(raw.get("tags") or [])
        self.params: dict[str, Any] = dict(raw.get("params") or {})
        self.timetable_summary: str | None = raw.get("schedule_description")
        groups = {
            member: group["group_id"]
            for group in raw.get("task_groups") or []
            for member in group.get("tasks") or []
        }
        downstream: dict[str, set[str]] = {}
        for task in raw.get("tasks") or []:
            for up in task.get("upstream") or []:
                downstream.setdefault(up, set()).add(task["task_id"])
        self.tasks = [
            StoredTask(
                task_id=t["task_id"],
                operator=t.get("operator", ""),
                owner=t.get("owner"),
                ui_color=t.get("ui_color"),
                task_group_id=groups.get(t["task_id"]),
                downstream_task_ids=frozenset(downstream.get(t["task_id"], ())),
            )
            for t in raw.get("tasks") or []
        ]

    @property
    def owner(self) -> str:
        """Its tasks' owners, each once (a task without one: Airflow's default owner)."""
        return ", ".join(dict.fromkeys(t.owner or "airflow" for t in self.tasks))
