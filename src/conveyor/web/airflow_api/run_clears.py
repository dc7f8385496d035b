"""``POST /api/v2/dags/{dag_id}/clearDagRuns`` (clear many runs, as ``.../clear`` clears
one) and ``POST /api/v2/dags/{dag_id}/clearPartitions``.

A run's partition is its ``partition_key`` (Airflow 3.2) and ``partition_date`` (3.3):
``partition_key`` selects the DAG's runs of that key, a partition date window those whose
date is in it (a bound's wall clock read as the DAG's timetable reads it).
``clearPartitions`` empties the key and date of the runs it selects (counting those that had
either) and,
with ``clear_task_instances``, clears their task instances as ``.../clear`` does, counting
those that change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from conveyor.engine import bulk_manual
from conveyor.engine.bulk_manual import MAX_RUNS, RunRef
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import Actor
from conveyor.store import notes, partitions
from conveyor.store.engine import Connection, Store
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.runs import latest_version
from conveyor.web.airflow_api.common import ALL, EDIT, DagIdPath, Editor, dry_run, require_dag
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.run_bulk import BulkDAGRunBody, entity_dag
from conveyor.web.airflow_api.run_shapes import (
    DAGRunCollectionResponse,
    Note,
    dag_run_response,
    refuse_other_versions,
)
from conveyor.web.airflow_api.ti_shapes import (
    ClearTaskInstanceCollectionResponse,
    cleared_instances,
)
from conveyor.web.auth import User
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagRun"])


class PartitionSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partition_key: Annotated[str | None, Field(max_length=250)] = None
    partition_date_start: datetime | None = None
    partition_date_end: datetime | None = None

    def _one_selector(self, other: bool, other_name: str) -> None:
        window = self.partition_date_start is not None or self.partition_date_end is not None
        if sum([other, self.partition_key is not None, window]) != 1:
            raise ValueError(
                f"give exactly one of {other_name}, partition_key, or a partition date window "
                "(partition_date_start / partition_date_end)"
            )
        start, end = self.partition_date_start, self.partition_date_end
        if start is not None and end is not None and start > end:
            raise ValueError("partition_date_start must be on or before partition_date_end")


class BulkDAGRunClearBody(PartitionSelectors):
    dry_run: bool = True
    only_failed: bool = False
    only_new: bool = False
    run_on_latest_version: bool | None = None
    note: Note = None
    dag_runs: list[BulkDAGRunBody] = Field(default_factory=list, max_length=MAX_RUNS)

    @model_validator(mode="after")
    def _selection(self) -> BulkDAGRunClearBody:
        self._one_selector(bool(self.dag_runs), "dag_runs (not empty)")
        return self


class ClearPartitionsBody(PartitionSelectors):
    run_id: Annotated[str | None, Field(max_length=250)] = None
    clear_task_instances: bool = False
    dry_run: bool = True

    @model_validator(mode="after")
    def _selection(self) -> ClearPartitionsBody:
        self._one_selector(self.run_id is not None, "run_id")
        return self


class ClearPartitionsResponse(BaseModel):
    dag_runs_cleared: int
    task_instances_cleared: int
    dry_run: bool


def _runs(conn: Connection, user: User, dag_id: str, body: BulkDAGRunClearBody) -> list[RunRef]:
    """The runs the body names, each once, in its order; for ``partition_key``, the DAG's
    runs of that key; for a partition date window, those whose date is in it."""
    if not body.dag_runs:
        if dag_id == ALL:
            raise HTTPException(400, "partition selectors need the DAG in the path, not ~")
        if body.partition_key is None:
            return [RunRef(dag_id, r) for r in _in_window(conn, dag_id, body)]
        return [
            RunRef(dag_id, r)
            for r in partitions.runs_of_partition(conn, dag_id, body.partition_key)
        ]
    found: dict[RunRef, None] = {}
    for entity in body.dag_runs:
        named = entity_dag(user, dag_id, entity.dag_id, entity.dag_run_id)
        found[RunRef(named, entity.dag_run_id)] = None
    return list(found)


def clear_or_preview(
    store: Store,
    refs: list[RunRef],
    actor: Actor,
    only_failed: bool,
    note: str | None,
    preview: bool,
) -> ClearTaskInstanceCollectionResponse | None:
    """Clear the runs' task instances (``only_failed``: the failed ones) and set the runs'
    ``note``; ``preview``: nothing is written, and the answer is the task instances that
    would be cleared, as they are now (``None`` once the clear is done)."""

    def clear(conn: Connection) -> bulk_manual.Outcome:
        return bulk_manual.clear_runs(conn, refs, actor, only_failed=only_failed)

    if preview:
        outcome = dry_run(store, clear)
        with store.read() as conn:
            return cleared_instances(conn, outcome)
    with store.write() as conn:
        clear(conn)
        if note is not None:
            for ref in refs:
                notes.set_run_note(conn, ref.dag_id, ref.run_id, note)
    return None


@router.post(
    "/dags/{dag_id}/clearDagRuns",
    response_model=ClearTaskInstanceCollectionResponse | DAGRunCollectionResponse,
    openapi_extra=differs(
        "only_new and run_on_latest_version are refused; the preview lists the instances "
        "that would change"
    ),
    name="clear_runs",
)
def clear_dag_runs(
    request: Request, dag_id: DagIdPath, body: BulkDAGRunClearBody, user: Editor
) -> Any:
    """Clear the task instances of many runs (or only the failed ones) so they run again.
    With ``dry_run`` (the default, as Airflow's) nothing changes: the answer lists the task
    instances that would be cleared; otherwise it lists the runs cleared."""
    refuse_other_versions(body.only_new, body.run_on_latest_version)
    store = get_store(request)
    if dag_id != ALL:
        require_dag(user, dag_id, EDIT)
        with store.read() as conn:
            dag_reads.get_dag(conn, dag_id)  # 404 for an unknown DAG
    with store.read() as conn:
        refs = _runs(conn, user, dag_id, body)
        for ref in refs:
            run_reads.get_run(conn, ref.dag_id, ref.run_id)  # 404 before anything changes
    actor = Actor(f"user:{user.username}")
    preview = clear_or_preview(store, refs, actor, body.only_failed, body.note, body.dry_run)
    if preview is not None:
        return preview
    with store.read() as conn:
        shown = [dag_run_response(conn, run_reads.get_run(conn, r.dag_id, r.run_id)) for r in refs]
    return DAGRunCollectionResponse(dag_runs=shown, total_entries=len(shown))


@router.post(
    "/dags/{dag_id}/clearPartitions",
    openapi_extra=differs("task_instances_cleared counts the instances whose state changes"),
)
def clear_dag_run_partitions(
    request: Request, dag_id: DagIdPath, body: ClearPartitionsBody, user: Editor
) -> ClearPartitionsResponse:
    """Empty the partition key of the matching runs and, with ``clear_task_instances``,
    clear their task instances; with ``dry_run`` (the default) only count."""
    require_dag(user, dag_id, EDIT)
    store = get_store(request)
    with store.read() as conn:
        dag_reads.get_dag(conn, dag_id)
        matched = _partition_runs(conn, dag_id, body)
    actor = Actor(f"user:{user.username}")

    def clear(conn: Connection) -> tuple[int, int]:
        runs_cleared = partitions.forget_partition_keys(conn, dag_id, matched)
        if not body.clear_task_instances or not matched:
            return runs_cleared, 0
        refs = [RunRef(dag_id, run_id) for run_id in matched]
        return runs_cleared, len(bulk_manual.clear_runs(conn, refs, actor).changed)

    if body.dry_run:
        runs_cleared, tis_cleared = dry_run(store, clear)
    else:
        with store.write() as conn:
            runs_cleared, tis_cleared = clear(conn)
    return ClearPartitionsResponse(
        dag_runs_cleared=runs_cleared, task_instances_cleared=tis_cleared, dry_run=body.dry_run
    )


def _partition_runs(conn: Connection, dag_id: str, body: ClearPartitionsBody) -> list[str]:
    """The run ids the selector names: the run of ``run_id`` (none when there is no such
    run), the runs of ``partition_key``, or those whose date is in the window."""
    if body.run_id is not None:
        try:
            return [run_reads.get_run(conn, dag_id, body.run_id).run_id]
        except NotFoundError:
            return []  # a run_id no run has matches none, as a selector does
    if body.partition_key is not None:
        return partitions.runs_of_partition(conn, dag_id, body.partition_key)
    return _in_window(conn, dag_id, body)


def _in_window(conn: Connection, dag_id: str, body: PartitionSelectors) -> list[str]:
    """The runs whose ``partition_date`` is in the body's window (none given: none)."""
    start, end = body.partition_date_start, body.partition_date_end
    if start is None and end is None:
        return []
    schedule = latest_version(conn, dag_id)[1].schedule
    return partitions.runs_in_date_window(
        conn,
        dag_id,
        None if start is None else schedule.localize_partition_datetime(start),
        None if end is None else schedule.localize_partition_datetime(end),
    )
