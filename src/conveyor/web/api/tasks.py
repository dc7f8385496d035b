"""Task instances of a run: list, detail with tries, logs, clear, mark, XCom, rendered
template fields, notes.

Each route of a task instance also answers under ``.../tasks/{task_id}/mapped/{map_index}``
for one instance of a mapped task: its own detail, tries, log, XCom and actions. Without it,
a mapped task is the task as a whole (its state aggregates its instances'; clear and mark
act on all of them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, BinaryIO, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import Field

from conveyor.engine import bulk_manual, manual
from conveyor.engine.bulk_manual import Outcome, RunRef
from conveyor.lifecycle import Actor
from conveyor.states import TaskState
from conveyor.store import notes
from conveyor.store.engine import Connection
from conveyor.web import queries, schemas
from conveyor.web.api import bulk
from conveyor.web.api.common import AUTH, MAX_INT, NOT_FOUND, DagId, DagOp, DagViewer, RunId, TaskId
from conveyor.web.api.previews import done_or_previewed
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["task instances"], responses=AUTH)

TASK = "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}"
MAPPED = TASK + "/mapped/{map_index}"
MapIndex = Annotated[
    int, Path(ge=0, le=MAX_INT, description="which instance of a mapped task (0..n-1)")
]
# A route registered under TASK and MAPPED: a path parameter under MAPPED, and a query
# parameter (``?map_index=``) under TASK; absent: the task as a whole.
MaybeIndex = Annotated[
    int | None, Field(ge=0, le=MAX_INT, description="which instance of a mapped task")
]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def each_instance(method: str, suffix: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Register the decorated route under ``TASK + suffix`` and ``MAPPED + suffix``: the task
    (or a mapped task as a whole) and one instance of a mapped task, with the same options."""

    def register(endpoint: Endpoint) -> Endpoint:
        add = getattr(router, method)
        add(TASK + suffix, **options)(add(MAPPED + suffix, **options)(endpoint))
        return endpoint

    return register


@router.get("/dags/{dag_id}/runs/{run_id}/tasks", responses=NOT_FOUND)
def list_task_instances(
    request: Request, dag_id: DagId, run_id: RunId, user: DagViewer
) -> schemas.TaskInstanceList:
    """The run's task instances in the DAG's order."""
    with get_store(request).read() as conn:
        return queries.list_task_instances(conn, dag_id, run_id)


@router.get(TASK, responses=NOT_FOUND)
def get_task_instance(
    request: Request, dag_id: DagId, run_id: RunId, task_id: TaskId, user: DagViewer
) -> schemas.TaskInstanceDetail:
    """A task instance with every try, its timeline, and what it is waiting for; a mapped
    task: the task as a whole, with its instances and how many are in each state."""
    with get_store(request).read() as conn:
        return queries.get_task_instance(conn, dag_id, run_id, task_id)


@router.get(MAPPED, responses=NOT_FOUND)
def get_mapped_instance(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    map_index: MapIndex,
    user: DagViewer,
) -> schemas.TaskInstanceDetail:
    """One instance of a mapped task with every try, its timeline, what it waits for."""
    with get_store(request).read() as conn:
        return queries.get_task_instance(conn, dag_id, run_id, task_id, map_index)


TryNumber = Annotated[int, Path(ge=1, le=MAX_INT)]


def try_address(
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    try_number: TryNumber,
    map_index: MaybeIndex = None,
) -> queries.TryAddress:
    """The try a route under ``.../tries/{try_number}`` names."""
    return queries.TryAddress(dag_id, run_id, task_id, try_number, map_index)


TryAt = Annotated[queries.TryAddress, Depends(try_address)]


@each_instance(
    "get", "/tries/{try_number}/log", response_model=schemas.LogChunk, responses=NOT_FOUND
)
def get_log(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    try_number: TryNumber,
    user: DagViewer,
    map_index: MaybeIndex = None,
    offset: Annotated[int, Query(ge=0, le=2**53, description="byte offset to read from")] = 0,
    limit: Annotated[int, Query(ge=1, le=1 << 20, description="bytes to read")] = 65536,
    tail: Annotated[
        int | None, Query(ge=0, le=100_000, description="only the last N lines; overrides offset")
    ] = None,
) -> schemas.LogChunk:
    """A chunk of a try's log. Poll with ``offset=next_offset`` to follow a running try."""
    # Not TryAt: as its own parameters, map_index stays before offset in the OpenAPI document.
    at = try_address(dag_id, run_id, task_id, try_number, map_index)
    with get_store(request).read() as conn:
        return queries.read_log(
            conn, get_settings(request), at, offset=offset, limit=limit, tail=tail
        )


@each_instance("get", "/tries/{try_number}/log/raw", response_class=PlainTextResponse)
def download_log(request: Request, at: TryAt, user: DagViewer) -> StreamingResponse:
    """A try's whole log as plain text, to save (``Content-Disposition: attachment``)."""
    with get_store(request).read() as conn:
        handle = queries.open_log(conn, get_settings(request), at)
    instance = f"-{at.map_index}" if at.map_index is not None else ""
    name = _file_name(f"{at.dag_id}-{at.run_id}-{at.task_id}{instance}-try{at.try_number}.log")
    return StreamingResponse(
        _chunks(handle),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _file_name(text: str) -> str:
    """A file name safe in a header: letters, digits, dot, dash and underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:200]


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(1 << 16):
            yield chunk


@each_instance(
    "get",
    "/tries/{try_number}/rendered",
    response_model=schemas.RenderedFields,
    responses=NOT_FOUND,
)
def get_rendered(request: Request, at: TryAt, user: DagViewer) -> schemas.RenderedFields:
    """The task's template fields as try ``try_number`` rendered them (secrets masked); the
    worker keeps them when the try ends."""
    with get_store(request).read() as conn:
        return queries.rendered_fields(conn, at)


@each_instance("get", "/xcom", response_model=schemas.XComList, responses=NOT_FOUND)
def get_xcom(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    user: DagViewer,
    map_index: MaybeIndex = None,
) -> schemas.XComList:
    """The values the task pushed (its return value is the key ``return_value``); a value
    that holds a secret the try read is shown masked."""
    with get_store(request).read() as conn:
        return queries.list_xcom(conn, dag_id, run_id, task_id, map_index)


@each_instance("put", "/note", response_model=schemas.Note, responses=NOT_FOUND)
def set_task_note(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    body: schemas.NoteRequest,
    user: DagOp,
    map_index: MaybeIndex = None,
) -> schemas.Note:
    """Write the task instance's note (op); an empty note removes it."""
    with get_store(request).write() as conn:
        note = notes.set_task_note(
            conn, dag_id, run_id, task_id, body.note, -1 if map_index is None else map_index
        )
    return schemas.Note(note=note)


def action_result(
    result: manual.ManualResult, outcome: Outcome, dry_run: bool
) -> schemas.ActionResult:
    """The answer to a clear or a mark: what changed (or would), and whose running try it
    stopped (or would stop); the instances as a bulk action's answer lists them."""
    listed = bulk.result(outcome, dry_run)
    return schemas.ActionResult(
        changed=result.changed,
        stopped=result.stopped,
        run_state=result.run_state.value,
        dry_run=dry_run,
        instances=listed.changed,
        stopped_instances=listed.stopped,
        runs=listed.runs,
    )


def act(
    request: Request,
    user: User,
    run: RunRef,
    dry_run: bool,
    action: Callable[[Connection, Actor], manual.ManualResult],
) -> schemas.ActionResult:
    """Do a clear or a mark of ``run`` in a write transaction on ``user``'s behalf, or with
    ``dry_run`` only preview it (done, then rolled back: no audit entry); a queued or
    running try it ends is stopped. The answer of :func:`action_result`."""
    actor = Actor(f"user:{user.username}")

    def observed(conn: Connection) -> tuple[manual.ManualResult, Outcome]:
        return bulk_manual.observe(conn, run, lambda: action(conn, actor))

    result, outcome = done_or_previewed(request, dry_run, observed)
    return action_result(result, outcome, dry_run)


ACTION: dict[str, Any] = {
    "response_model": schemas.ActionResult,
    "responses": NOT_FOUND,
}


@each_instance("post", "/clear", **ACTION)
def clear_task(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    body: schemas.ClearRequest,
    user: DagOp,
    map_index: MaybeIndex = None,
) -> schemas.ActionResult:
    """Clear the task so it runs again (op): also its upstream or downstream, or only failed.
    Under ``mapped/{map_index}``: only that instance of the mapped task.

    A finished run goes back to ``queued`` and the scheduler runs the cleared tasks.
    ``dry_run``: only say what would change.
    """
    return act(
        request,
        user,
        RunRef(dag_id, run_id),
        body.dry_run,
        lambda conn, actor: manual.clear(
            conn,
            dag_id,
            run_id,
            task_id,
            actor,
            upstream=body.upstream,
            downstream=body.downstream,
            only_failed=body.only_failed,
            map_index=map_index,
        ),
    )


@each_instance("post", "/mark", **ACTION)
def mark_task(
    request: Request,
    dag_id: DagId,
    run_id: RunId,
    task_id: TaskId,
    body: schemas.MarkRequest,
    user: DagOp,
    map_index: MaybeIndex = None,
) -> schemas.ActionResult:
    """Mark the task success or failed (op); the scheduler then works out the run's state.
    Under ``mapped/{map_index}``: only that instance of the mapped task. ``dry_run``: only
    say what would change."""
    return act(
        request,
        user,
        RunRef(dag_id, run_id),
        body.dry_run,
        lambda conn, actor: manual.mark(
            conn, dag_id, run_id, task_id, TaskState(body.state), actor, map_index=map_index
        ),
    )
