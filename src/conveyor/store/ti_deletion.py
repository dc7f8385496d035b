"""Deleting one task instance by hand (/api/v2's DELETE of a task instance), and bringing
deleted ones back when their run runs again.

An instance goes with its tries, timeline events, XComs and state-store values (its trigger
and human-in-the-loop rows go by foreign key); its log files are the caller's to delete
after the commit. Only an instance of a finished run can be deleted: in a queued or running
run a try may be running against the row right now, and the tasks downstream would wait
for an instance that no longer exists, so the run would never end.

When a person sends a finished run back to the scheduler (a clear, a mark), the run gets
back, not started yet, the instances its DAG version gives it that were deleted: the
scheduler plans a run from its instances, and one missing would leave the run waiting.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from conveyor.clock import utcnow
from conveyor.exceptions import ConveyorError
from conveyor.states import RUN_FINISHED
from conveyor.store import runs
from conveyor.store.runs import RunRow
from conveyor.store.tables import task_event, task_instance, task_state_store, task_try, xcom


class InstanceNotFound(ConveyorError):
    """No such task instance (Airflow's 404 names it by its keys)."""


class RunStillActive(ConveyorError):
    """The instance's run is queued or running: it is not deleted (a 409 in the API)."""


@dataclass(frozen=True)
class DeletedInstance:
    """The log files of the deleted instance's tries, to delete after the commit."""

    log_paths: list[str]


def delete_instance(conn: Connection, run: RunRow, task_id: str, map_index: int) -> DeletedInstance:
    """Delete ``task_id``'s instance at ``map_index`` of ``run`` (locked by the caller) and
    what belongs to it, in ``conn``'s transaction.

    Raises :class:`InstanceNotFound` or :class:`RunStillActive`; nothing is deleted then.
    """
    ti_id = conn.execute(
        select(task_instance.c.id).where(
            task_instance.c.run_pk == run.id,
            task_instance.c.task_id == task_id,
            task_instance.c.map_index == map_index,
        )
    ).scalar()
    if ti_id is None:
        raise InstanceNotFound(task_id)
    if run.state not in RUN_FINISHED:
        raise RunStillActive(
            f"run {run.run_id!r} of DAG {run.dag_id!r} is {run.state.value}: a task instance "
            "can only be deleted once its run has finished (a try may be running against it, "
            "and the tasks downstream would wait for it forever); mark the run failed (or "
            "wait for it to end) first"
        )
    paths = [
        path
        for path in conn.execute(
            select(task_try.c.log_path).where(task_try.c.ti_id == ti_id)
        ).scalars()
        if path
    ]
    of_instance = (
        (xcom, xcom.c.run_pk == run.id, xcom.c.task_id == task_id, xcom.c.map_index == map_index),
        (
            task_state_store,
            task_state_store.c.run_pk == run.id,
            task_state_store.c.task_id == task_id,
            task_state_store.c.map_index == map_index,
        ),
    )
    for table, *where in of_instance:
        conn.execute(delete(table).where(*where))
    conn.execute(delete(task_event).where(task_event.c.ti_id == ti_id))
    conn.execute(delete(task_try).where(task_try.c.ti_id == ti_id))
    conn.execute(delete(task_instance).where(task_instance.c.id == ti_id))
    return DeletedInstance(paths)


def restore_deleted_instances(conn: Connection, run: RunRow) -> list[str]:
    """Give ``run`` back, not started, the instances of its DAG version's tasks that have
    none at all (deleted by hand); the ids of those tasks. A mapped task comes back as its
    placeholder, expanded again when it runs."""
    present = set(
        conn.execute(
            select(task_instance.c.task_id).where(task_instance.c.run_pk == run.id).distinct()
        ).scalars()
    )
    structure = runs.serialized_dag(conn, run.version_hash)
    rows = [
        row
        for row in runs.instance_rows(
            run.id, run.dag_id, run.run_id, run.run_type, structure, run.logical_date, utcnow()
        )
        if row["task_id"] not in present
    ]
    if rows:
        conn.execute(insert(task_instance), rows)
    return [row["task_id"] for row in rows]
