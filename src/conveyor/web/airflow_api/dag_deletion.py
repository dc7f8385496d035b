"""``DELETE /api/v2/dags/{dag_id}``: a DAG's runs and their task instances, tries, XComs and
logs deleted, as Airflow deletes a DAG's metadata (see :mod:`conveyor.store.dag_deletion`).

Refused (409) while a run of the DAG is queued or running, as Airflow refuses a DAG with
running task instances. The DAG stays listed while its file is in the folder, as it
reappears on Airflow's next parse; a DAG whose file is gone goes entirely.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response

from conveyor.logs import delete_try_logs
from conveyor.store import dag_deletion
from conveyor.web.airflow_api.common import EDIT, DagIdPath, Editor, require_dag
from conveyor.web.airflow_api.differences import differs
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["DAG"])


@router.delete(
    "/dags/{dag_id}",
    status_code=204,
    openapi_extra=differs(
        "deletes the DAG's runs, backfills and queued dataset updates; the DAG itself "
        "stays while its file is in the folder"
    ),
)
def delete_dag(
    request: Request, dag_id: DagIdPath, user: Editor, after: BackgroundTasks
) -> Response:
    """Delete the DAG's history; 409 while one of its runs is queued or running."""
    require_dag(user, dag_id, EDIT)
    try:
        with get_store(request).write() as conn:
            gone = dag_deletion.delete_dag(conn, dag_id)
    except dag_deletion.DagHasActiveRuns as exc:
        raise HTTPException(409, str(exc)) from None
    audit_note(
        request,
        dag_id,
        runs=gone.deleted.runs,
        task_instances=gone.deleted.task_instances,
        backfills=gone.backfills,
        dag_removed=gone.dag_removed,
    )
    after.add_task(delete_try_logs, get_settings(request), gone.log_paths)
    return Response(status_code=204, background=after)
