"""``POST /api/v2/dags/{dag_id}/clearTaskInstances``: clear task instances of a DAG's runs
so they run again, with Airflow's options (relatives, past and future runs, only failed,
a date range or one run, ``dry_run``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from conveyor.engine import bulk_manual
from conveyor.engine.bulk_manual import TaskRef
from conveyor.lifecycle import Actor
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads.runs import RunFilter, Window
from conveyor.store.runs import serialized_dag
from conveyor.web import audit_targets
from conveyor.web.airflow_api.common import EDIT, DagIdPath, Editor, aware, dry_run, require_dag
from conveyor.web.airflow_api.ti_shapes import (
    ClearTaskInstancesBody,
    TaskInstanceCollectionResponse,
    cleared_instances,
)
from conveyor.web.audit_trail import note_each, note_targets
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task Instance"])


def _refuse_unsupported(body: ClearTaskInstancesBody) -> None:
    if body.only_running:
        raise HTTPException(400, "only_running: Conveyor clears failed or all task instances")
    if not body.reset_dag_runs:
        raise HTTPException(
            400, "reset_dag_runs: Conveyor always sets a cleared run going again (true)"
        )
    if body.run_on_latest_version:
        raise HTTPException(
            400, "run_on_latest_version: Conveyor runs a cleared task on its run's DAG version"
        )
    if body.note is not None:
        raise HTTPException(400, "note: set notes with PATCH on the run or task instance")
    if any(not isinstance(t, str) for t in body.task_ids or ()):
        raise HTTPException(
            400,
            "task_ids: Conveyor clears a mapped task with all its instances here; clear one "
            "instance with PATCH .../taskInstances/{task_id}/{map_index} or Conveyor's API",
        )


def _refs(conn: Connection, dag_id: str, body: ClearTaskInstancesBody) -> list[TaskRef]:
    """The task instances the body names: its tasks (all of the DAG's) in its run, or in
    the runs dated between its start and end dates (all runs)."""
    if body.dag_run_id is not None:
        runs = [run_reads.get_run(conn, dag_id, body.dag_run_id)]
    else:
        window = Window(
            logical_date_gte=aware("start_date", body.start_date, "body"),
            logical_date_lte=aware("end_date", body.end_date, "body"),
        )
        where = RunFilter(dag_id=dag_id, window=window)
        total = run_reads.count_runs(conn, where=where)
        runs = run_reads.list_runs(conn, where=where, limit=max(total, 1), order="id")
    refs = []
    for run in runs:
        tasks = serialized_dag(conn, run.version_hash).tasks
        wanted = [str(t) for t in body.task_ids] if body.task_ids else list(tasks)
        refs += [TaskRef(dag_id, run.run_id, t) for t in wanted if t in tasks]
    return refs


@router.post("/dags/{dag_id}/clearTaskInstances", name="clear_task")
def post_clear_task_instances(
    request: Request, dag_id: DagIdPath, body: ClearTaskInstancesBody, user: Editor
) -> TaskInstanceCollectionResponse:
    """Clear task instances so they run again; with ``dry_run`` (the default, as Airflow's)
    only list those that would be cleared."""
    require_dag(user, dag_id, EDIT)
    _refuse_unsupported(body)
    store = get_store(request)
    actor = Actor(f"user:{user.username}")

    asked: list[TaskRef] = []

    def clear(conn: Connection) -> bulk_manual.Outcome:
        asked[:] = _refs(conn, dag_id, body)
        return bulk_manual.clear_task_instances(
            conn,
            asked,
            actor,
            upstream=body.include_upstream,
            downstream=body.include_downstream,
            past=body.include_past,
            future=body.include_future,
            only_failed=body.only_failed,
        )

    try:
        preview = dry_run(store, clear)
    except bulk_manual.TooManyRuns as exc:
        raise HTTPException(400, str(exc)) from None
    if body.prevent_running_task and preview.stopped:
        running = ", ".join(sorted({c.task_id for c in preview.stopped}))
        raise HTTPException(
            400, f"prevent_running_task: these task instances are queued or running: {running}"
        )
    if body.dry_run:
        note_each(request, [])  # a preview changes nothing: no audit entry
        with store.read() as conn:
            found = cleared_instances(conn, preview)
    else:
        with store.write() as conn:
            outcome = clear(conn)
            note_targets(request, audit_targets.of_refs(asked, outcome))
        with store.read() as conn:
            found = cleared_instances(conn, outcome)
    return TaskInstanceCollectionResponse(
        task_instances=found.task_instances, total_entries=found.total_entries
    )
