"""``DELETE /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}``: delete one
task instance (``map_index``: of a mapped task) of a finished run."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import JSONResponse

from conveyor.exceptions import NotFoundError
from conveyor.logs import delete_try_logs
from conveyor.store import manual, ti_deletion
from conveyor.web.airflow_api.common import (
    EDIT,
    DagIdPath,
    Editor,
    RunIdPath,
    TaskIdPath,
    require_dag,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.ti_lookup import MapIndexQuery
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["Task Instance"])


@router.delete(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
    response_model=None,
    openapi_extra=differs(
        "refused (409) while the run is queued or running, which Airflow allows: a try may "
        "be running against the instance and the tasks downstream would wait for it; a "
        "later clear or mark of the run gives the instance back, not started"
    ),
    responses={404: {"description": "Not Found"}, 409: {"description": "Conflict"}},
)
def delete_task_instance(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    task_id: TaskIdPath,
    user: Editor,
    after: BackgroundTasks,
    map_index: MapIndexQuery = -1,
) -> JSONResponse:
    """Delete a task instance with its tries, XComs, state-store values and logs; answers
    ``null``. One of a queued or running run is refused (409): mark the run failed first."""
    require_dag(user, dag_id, EDIT)
    missing = HTTPException(
        404,
        f"The Task Instance with dag_id: `{dag_id}`, run_id: `{dag_run_id}`, task_id: "
        f"`{task_id}` and map_index: `{map_index}` was not found",
    )
    try:
        with get_store(request).write() as conn:
            run = manual.locked_run(conn, dag_id, dag_run_id)
            gone = ti_deletion.delete_instance(conn, run, task_id, map_index)
    except (NotFoundError, ti_deletion.InstanceNotFound):
        raise missing from None
    except ti_deletion.RunStillActive as exc:
        raise HTTPException(409, str(exc)) from None
    after.add_task(delete_try_logs, get_settings(request), gone.log_paths)
    return JSONResponse(None, background=after)
