"""``task_state_store`` in a task's context: values one task instance keeps across its tries
(Airflow 3.3's task state store), so that a retry can pick up where a failed try left off.

Each value is kept as an XCom of the instance under ``__task_state__.<key>``: XComs outlive a
failed try in Conveyor (they go when the instance is cleared, and so does its state), and
they are JSON, as Airflow's task state is. ``retention`` is accepted; state lives as long as
the run's XComs.
"""

from __future__ import annotations

from typing import Any

from conveyor.store.xcom import delete_instance_xcom, instance_xcom, upsert_xcom
from conveyor.worker.context import TaskInstanceHandle, check_json

#: The XCom key prefix a task's state is kept under.
PREFIX = "__task_state__."
#: Airflow's retention that never expires (``airflow.sdk.execution_time.context``).
NEVER_EXPIRE = "never_expire"


class TaskStateStore:
    """``get``/``set``/``delete`` (and ``aget``/``aset``/``adelete`` for async tasks)."""

    def __init__(self, ti: TaskInstanceHandle) -> None:
        self._ti = ti

    def get(self, key: str, default: Any = None) -> Any:
        ti = self._ti
        with ti._store.read() as conn:
            found = instance_xcom(conn, ti._run.id, ti.task_id, ti.map_index, PREFIX + key)
        return default if found is None else found

    def set(self, key: str, value: Any, retention: Any = None) -> None:
        ti = self._ti
        check_json(value, f"task state {key!r} of task {ti.task_id!r}")
        with ti._store.write() as conn:
            upsert_xcom(conn, ti._run.id, ti.task_id, PREFIX + key, value, ti.map_index)

    def delete(self, key: str) -> None:
        ti = self._ti
        with ti._store.write() as conn:
            delete_instance_xcom(conn, ti._run.id, ti.task_id, ti.map_index, PREFIX + key)

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def aset(self, key: str, value: Any, retention: Any = None) -> None:
        self.set(key, value, retention)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    def __repr__(self) -> str:
        return f"TaskStateStore({self._ti.task_id})"
