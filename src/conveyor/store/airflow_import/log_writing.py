"""The imported tries whose log has not been copied yet, and where each copy went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, tuple_, update

from conveyor.store.airflow_import.writing import IMPORTED_BY
from conveyor.store.tables import dag_run, task_instance, task_try

#: Runs per statement when their tries are read.
_CHUNK = 500


@dataclass(frozen=True)
class TryWithoutLog:
    try_pk: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int


def tries_without_logs(conn: Connection, runs: Sequence[tuple[str, str]]) -> list[TryWithoutLog]:
    """The tries of these imported runs, by (dag_id, run_id), that have no log yet."""
    found: list[TryWithoutLog] = []
    for first in range(0, len(runs), _CHUNK):
        keys = list(runs[first : first + _CHUNK])
        rows = conn.execute(
            select(
                task_try.c.id,
                dag_run.c.dag_id,
                dag_run.c.run_id,
                task_instance.c.task_id,
                task_instance.c.map_index,
                task_try.c.try_number,
            )
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .join(dag_run, dag_run.c.id == task_instance.c.run_pk)
            .where(
                dag_run.c.created_by == IMPORTED_BY,
                task_try.c.log_path.is_(None),
                tuple_(dag_run.c.dag_id, dag_run.c.run_id).in_(keys),
            )
            .order_by(task_try.c.id)
        )
        found.extend(TryWithoutLog(*r) for r in rows)
    return found


def set_log_paths(conn: Connection, paths: Sequence[tuple[int, str]]) -> None:
    """Record where each try's log is now, by the try's key, in one batched statement."""
    if paths:
        conn.execute(
            update(task_try)
            .where(task_try.c.id == bindparam("try_pk"))
            .values(log_path=bindparam("copied_to")),
            [{"try_pk": pk, "copied_to": path} for pk, path in paths],
        )
