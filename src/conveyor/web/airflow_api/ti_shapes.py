"""Task instances and their tries as Airflow's API answers them (``TaskInstanceResponse``,
``TaskInstanceHistoryResponse``), made from Conveyor's task instance and try rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from conveyor.engine import bulk_manual
from conveyor.serialized import SerializedDag
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.tasks import InstanceRow, TryRow
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.batch_bounds import BatchBounds, Bound
from conveyor.web.airflow_api.common import UtcTime
from conveyor.web.airflow_api.operator_names import operator_class, operator_name
from conveyor.web.airflow_api.run_shapes import duration, run_after
from conveyor.web.row_shapes import FromRow, RowAnswer, fill

#: Conveyor's task state with no Airflow name (created, waiting for its upstream): null.
NO_STATE = "none"


#: A task instance's fields as Airflow shows them, in its order.
_INSTANCE_FIELDS = (
    "id",
    "task_id",
    "dag_id",
    "dag_run_id",
    "map_index",
    "logical_date",
    "run_after",
    "start_date",
    "end_date",
    "duration",
    "state",
    "try_number",
    "max_tries",
    "task_display_name",
    "dag_display_name",
    "hostname",
    "unixname",
    "pool",
    "pool_slots",
    "queue",
    "priority_weight",
    "operator",
    "operator_name",
    "queued_when",
    "scheduled_when",
    "pid",
    "executor",
    "executor_config",
    "note",
    "rendered_map_index",
    "rendered_fields",
    "trigger",
    "triggerer_job",
    "dag_version",
)
#: Those a try does not show (Airflow's task instance history).
_INSTANCE_ONLY = {
    "id",
    "logical_date",
    "run_after",
    "note",
    "rendered_map_index",
    "rendered_fields",
    "trigger",
    "triggerer_job",
}
#: Conveyor's names of a task instance's row under Airflow's, its times in UTC.
_AIRFLOW_NAMES = {"queued_when": "queued_at", "scheduled_when": "scheduled_at", "note": "user_note"}


class TaskInstanceResponse(RowAnswer):
    # A task instance's read row under Airflow's names; what the row does not hold as
    # Airflow shows it (its run's, its task's, Airflow's constants) is declared below.
    __row__ = FromRow(
        InstanceRow,
        shown=_INSTANCE_FIELDS,
        renamed=_AIRFLOW_NAMES,
        nullable=("queue",),
        time=UtcTime,
        described=False,
    )
    id: str
    dag_id: str
    dag_run_id: str
    logical_date: UtcTime | None
    run_after: datetime
    duration: float | None
    state: str | None
    task_display_name: str
    dag_display_name: str
    unixname: str | None = None
    pool: str
    pool_slots: int
    priority_weight: int | None
    operator: str | None
    operator_name: str | None
    executor: str | None = None
    executor_config: str = "{}"
    rendered_fields: dict[str, Any] = {}
    trigger: dict[str, Any] | None = None
    triggerer_job: dict[str, Any] | None = None
    dag_version: dict[str, Any] | None = None


class TaskInstanceCollectionResponse(BaseModel):
    task_instances: list[TaskInstanceResponse]
    total_entries: int | None
    total_entries_limit: int | None = None  # set with a cursor: total_entries counts to it
    next_cursor: str | None = None
    previous_cursor: str | None = None


class ClearTaskInstanceCollectionResponse(BaseModel):
    task_instances: list[TaskInstanceResponse]
    total_entries: int


class TaskInstanceHistoryResponse(RowAnswer):
    # A try: what its task instance shows, less what only the instance has; the try's own
    # values (its dates, state, number, host and process) are given when it is made.
    __row__ = FromRow(
        InstanceRow,
        shown=tuple(name for name in _INSTANCE_FIELDS if name not in _INSTANCE_ONLY),
        renamed=_AIRFLOW_NAMES,
        like=TaskInstanceResponse,
    )


class TaskInstanceHistoryCollectionResponse(BaseModel):
    task_instances: list[TaskInstanceHistoryResponse]
    total_entries: int


def instance_uuid(ti_id: int) -> str:
    """A stable UUID for a task instance (Airflow's ids are UUIDs, Conveyor's numbers)."""
    return str(uuid.UUID(int=ti_id))


def airflow_state(state: str | None) -> str | None:
    return None if state in (None, NO_STATE) else state


def _instance_fields(run: RunListing, dag: SerializedDag, row: InstanceRow) -> dict[str, Any]:
    """What a task instance and each of its tries show alike: the instance's keys, and its
    task's facts from the run's DAG version."""
    shared = {
        "task_id": row.task_id,
        "dag_id": run.dag_id,
        "dag_run_id": run.run_id,
        "map_index": row.map_index,
        "max_tries": max(row.max_tries - 1, 0),
        "dag_display_name": dag.display_name or run.dag_id,
        "queue": row.queue,
    }
    task = dag.tasks.get(row.task_id)
    if task is None:  # a task the run's version had, which this one lost: none of its facts
        return shared | {
            "task_display_name": row.task_id,
            "pool": "default_pool",
            "pool_slots": 1,
            "priority_weight": None,
            "operator": None,
            "operator_name": None,
        }
    return shared | {
        "task_display_name": task.display_name,
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "priority_weight": task.priority_weight,
        "operator": operator_class(task),
        "operator_name": operator_name(task),
    }


def ti_response(run: RunListing, dag: SerializedDag, row: InstanceRow) -> TaskInstanceResponse:
    return fill(
        TaskInstanceResponse,
        row,
        **_instance_fields(run, dag, row),
        id=instance_uuid(row.id),
        logical_date=run.logical_date,
        run_after=run_after(run),
        duration=duration(row.start_date, row.end_date),
        state=airflow_state(row.state),
    )


def try_response(
    run: RunListing, dag: SerializedDag, row: InstanceRow, attempt: TryRow
) -> TaskInstanceHistoryResponse:
    """A try, as Airflow's task instance history shows it; the current try as its
    instance is now."""
    current = attempt.try_number == row.try_number
    return fill(
        TaskInstanceHistoryResponse,
        row,
        **_instance_fields(run, dag, row),
        start_date=attempt.start_date,
        end_date=attempt.end_date,
        duration=attempt.duration
        if attempt.duration is not None
        else duration(attempt.start_date, attempt.end_date),
        state=airflow_state(attempt.state),
        try_number=attempt.try_number,
        hostname=attempt.hostname,
        queued_when=row.queued_at if current else None,
        scheduled_when=row.scheduled_at if current else None,
        pid=attempt.pid,
    )


def run_instances(
    conn: Connection, run: RunListing, rows: Iterable[InstanceRow] | None = None
) -> list[TaskInstanceResponse]:
    """The run's task instances (or ``rows`` of it) in Airflow's shape."""
    dag = serialized_dag(conn, run.version_hash)
    found = task_reads.instances(conn, run.id) if rows is None else rows
    return [ti_response(run, dag, r) for r in found]


def cleared_instances(
    conn: Connection, outcome: bulk_manual.Outcome
) -> ClearTaskInstanceCollectionResponse:
    """The task instances a clear changed (or, in a dry run, would change), as they are."""
    wanted: dict[tuple[str, str], set[tuple[str, int]]] = {}
    for change in outcome.changed:
        wanted.setdefault((change.dag_id, change.run_id), set()).add(
            (change.task_id, change.map_index)
        )
    found: list[TaskInstanceResponse] = []
    for (dag_id, run_id), keys in wanted.items():
        run = run_reads.get_run(conn, dag_id, run_id)
        rows = [r for r in task_reads.instances(conn, run.id) if (r.task_id, r.map_index) in keys]
        found += run_instances(conn, run, rows)
    return ClearTaskInstanceCollectionResponse(task_instances=found, total_entries=len(found))


MutableState = Literal[
    "removed",
    "scheduled",
    "queued",
    "running",
    "success",
    "restarting",
    "failed",
    "up_for_retry",
    "up_for_reschedule",
    "upstream_failed",
    "skipped",
    "deferred",
    "awaiting_input",
]


class PatchTaskInstanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_state: MutableState | None = None
    note: Annotated[str | None, Field(max_length=1000)] = None
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False


Name = Annotated[str, Field(max_length=250)]


class _InstancesBatchHead(BaseModel):
    dag_ids: list[Name] | None = None
    dag_run_ids: list[Name] | None = None
    task_ids: list[Name] | None = None
    state: list[MutableState | None] | None = None


class TaskInstancesBatchBody(BatchBounds, _InstancesBatchHead):
    model_config = ConfigDict(extra="forbid")

    pool: list[Name] | None = None
    queue: list[Name] | None = None
    executor: list[Name] | None = None
    page_offset: int = Field(default=0, ge=0, le=2**31 - 1)
    page_limit: int = Field(default=100, ge=0)
    order_by: str | None = Field(default=None, max_length=50)


class ClearTaskInstancesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = True
    start_date: Bound = None
    end_date: Bound = None
    only_failed: bool = True
    only_running: bool = False
    reset_dag_runs: bool = True
    task_ids: list[Name | tuple[Name, int]] | None = None
    dag_run_id: Name | None = None
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False
    run_on_latest_version: bool | None = None
    prevent_running_task: bool = False
    note: Annotated[str | None, Field(max_length=1000)] = None
