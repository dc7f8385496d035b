"""Task instances of a run: list, detail with tries, logs, clear, mark, XCom."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from conveyor.states import TaskState
from conveyor.store import manual
from conveyor.store.transitions import Actor
from conveyor.web import queries, schemas
from conveyor.web.api.common import AUTH, MAX_INT, NOT_FOUND, DagId, Op, RunId, TaskId, Viewer
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["task instances"], responses=AUTH)

TASK = "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}"
IN_FLIGHT: dict[int | str, dict[str, str]] = {
    409: {"description": "the task instance is queued or running: a process holds it"}
}


@router.get(
    "/dags/{dag_id}/runs/{run_id}/tasks",
    response_model=schemas.TaskInstanceList,
    responses=NOT_FOUND,
)
def list_task_instances(
    request: Request, dag_id: DagId, run_id: RunId, user: Viewer
) -> schemas.TaskInstanceList:
    """The run's task instances in the DAG's order."""
    with get_store(request).read() as conn:
        return queries.list_task_instances(conn, dag_id, run_id)


@router.get(TASK, response_model=schemas.TaskInstanceDetail, responses=NOT_FOUND)
def get_task_instance(
    request: Request, dag_id: DagId, run_id: RunId, task_id: TaskId, user: Viewer
) -> schemas.TaskInstanceDetail:
    """A task instance with every try, its timeline, and what it is waiting for."""
    with get_store(request).read() as conn:
        return queries.get_task_instance(conn, dag_id, run_id, task_id)


@router.get(TASK + "/tries/{try_number}/log", response_model=schemas.LogChunk, responses=NOT_FOUND)
def get_log(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    try_number: Annotated[int, Path(ge=1, le=MAX_INT)],
    user: Viewer,
    offset: Annotated[int, Query(ge=0, le=2**53, description="byte offset to read from")] = 0,
    limit: Annotated[int, Query(ge=1, le=1 << 20, description="bytes to read")] = 65536,
    tail: Annotated[
        int | None, Query(ge=0, le=100_000, description="only the last N lines; overrides offset")
    ] = None,
) -> schemas.LogChunk:
    """A chunk of a try's log. Poll with ``offset=next_offset`` to follow a running try."""
    with get_store(request).read() as conn:
        return queries.read_log(
            conn,
            get_settings(request),
            dag_id,
            run_id,
            task_id,
            try_number,
            offset=offset,
            limit=limit,
            tail=tail,
        )


@router.get(TASK + "/xcom", response_model=schemas.XComList, responses=NOT_FOUND)
def get_xcom(
    request: Request, dag_id: DagId, run_id: RunId, task_id: TaskId, user: Viewer
) -> schemas.XComList:
    """The values the task pushed (its return value is the key ``return_value``)."""
    with get_store(request).read() as conn:
        return queries.list_xcom(conn, dag_id, run_id, task_id)


def action_result(result: manual.ManualResult, what: str) -> schemas.ActionResult:
    """The answer to a clear or a mark: 409 when only in-flight task instances were hit."""
    if not result.changed and result.skipped_in_flight:
        raise HTTPException(
            409,
            f"cannot {what} {', '.join(result.skipped_in_flight)}: queued or running right now; "
            "wait for the try to end",
        )
    return schemas.ActionResult(changed=result.changed, run_state=result.run_state.value)


@router.post(
    TASK + "/clear", response_model=schemas.ActionResult, responses={**NOT_FOUND, **IN_FLIGHT}
)
def clear_task(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    body: schemas.ClearRequest,
    user: Op,
) -> schemas.ActionResult:
    """Clear the task so it runs again (op): also its upstream or downstream, or only failed.

    A finished run goes back to ``queued`` and the scheduler runs the cleared tasks.
    """
    with get_store(request).write() as conn:
        result = manual.clear(
            conn,
            dag_id,
            run_id,
            task_id,
            Actor(f"user:{user.username}"),
            upstream=body.upstream,
            downstream=body.downstream,
            only_failed=body.only_failed,
        )
    return action_result(result, "clear")


@router.post(
    TASK + "/mark", response_model=schemas.ActionResult, responses={**NOT_FOUND, **IN_FLIGHT}
)
def mark_task(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    body: schemas.MarkRequest,
    user: Op,
) -> schemas.ActionResult:
    """Mark the task success or failed (op); the scheduler then works out the run's state."""
    with get_store(request).write() as conn:
        result = manual.mark(
            conn, dag_id, run_id, task_id, TaskState(body.state), Actor(f"user:{user.username}")
        )
    return action_result(result, "mark")
