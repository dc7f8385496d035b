"""``airflow.api.common.experimental.get_task_instance``: another task's instance, by date.

Task code written for Airflow reads the state of a task of another run (or another DAG)
this way. Here it reads the store the running try uses, through the store's read model, and
answers a frozen snapshot with the TaskInstance attributes such code reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from conveyor.airflow_compat.exceptions import (
    DagNotFound,
    DagRunNotFound,
    TaskInstanceNotFound,
    TaskNotFound,
)
from conveyor.connections import current_store
from conveyor.exceptions import NotFoundError
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import latest_version


@dataclass(frozen=True)
class TaskInstanceSnapshot:
    """A task instance as it was when read (Airflow's TaskInstance attributes; it does not
    change as the instance moves on: read it again for a newer state)."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    state: str
    try_number: int
    max_tries: int
    queue: str
    hostname: str | None
    pid: int | None
    start_date: datetime | None
    end_date: datetime | None
    queued_dttm: datetime | None
    execution_date: datetime
    logical_date: datetime
    note: str | None

    @property
    def duration(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    def current_state(self) -> str:
        return self.state


def as_utc(moment: datetime) -> datetime:
    """A naive date is UTC, as Airflow reads one given to its API."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def get_task_instance(dag_id: str, task_id: str, execution_date: datetime) -> TaskInstanceSnapshot:
    """The instance of ``task_id`` in the DAG's run of that logical date (of a mapped task,
    its first). ``DagNotFound`` / ``TaskNotFound`` / ``DagRunNotFound`` /
    ``TaskInstanceNotFound`` as in Airflow."""
    store, _settings = current_store()
    when = as_utc(execution_date)
    with store.read() as conn:
        try:
            _version, dag = latest_version(conn, dag_id)
        except NotFoundError as exc:
            raise DagNotFound(f"Dag id {dag_id} not found: {exc}") from None
        if task_id not in dag.tasks:
            raise TaskNotFound(f"Task {task_id} not found in DAG {dag_id}")
        run = run_reads.run_dated(conn, dag_id, when)
        if run is None:
            raise DagRunNotFound(f"DagRun for date {when.isoformat()} not found in DAG {dag_id}")
        found = task_reads.instance(conn, run.id, task_id)
    if found is None:
        raise TaskInstanceNotFound(f"Task {task_id} instance for date {when.isoformat()} not found")
    return TaskInstanceSnapshot(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run.run_id,
        map_index=found.map_index,
        state=found.state,
        try_number=found.try_number,
        max_tries=max(found.max_tries - 1, 0),  # Airflow counts the retries, not the tries
        queue=found.queue,
        hostname=found.hostname,
        pid=found.pid,
        start_date=found.start_date,
        end_date=found.end_date,
        queued_dttm=found.queued_at,
        execution_date=run.logical_date,
        logical_date=run.logical_date,
        note=found.user_note,
    )
