"""``/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances``: list (``~`` for every DAG
or run), batch list, get (per map index), mapped instances, tries, patch state and note
(with ``dry_run``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from conveyor.engine import manual
from conveyor.lifecycle import Actor
from conveyor.states import TaskState
from conveyor.store import notes
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import (
    ALL,
    EDIT,
    DagIdPath,
    Editor,
    MapIndexPath,
    Page,
    Pattern,
    Reader,
    RunIdPath,
    TaskIdPath,
    TextFilters,
    bounds,
    dry_run,
    paged,
    require_dag,
    text_filters,
    unprocessable,
)
from conveyor.web.airflow_api.cursors import ListPage
from conveyor.web.airflow_api.ti_listing import (
    TEXT_FIELDS,
    TI_FIELDS,
    TiQuery,
    find_instances,
    list_instances,
)
from conveyor.web.airflow_api.ti_lookup import instance_or_404
from conveyor.web.airflow_api.ti_marks import FIELDS as MARK_FIELDS
from conveyor.web.airflow_api.ti_marks import marked_state
from conveyor.web.airflow_api.ti_paths import (
    MappedInstance,
    MappedTry,
    QueriedInstance,
    QueriedTry,
    Task,
    TaskAt,
    reading,
)
from conveyor.web.airflow_api.ti_shapes import (
    PatchTaskInstanceBody,
    TaskInstanceCollectionResponse,
    TaskInstanceHistoryCollectionResponse,
    TaskInstanceHistoryResponse,
    TaskInstanceResponse,
    TaskInstancesBatchBody,
    run_instances,
    ti_response,
    try_response,
)
from conveyor.web.audit_trail import note_each
from conveyor.web.auth import User
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task Instance"])

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
Names = Annotated[list[str] | None, Query(max_length=100)]
TI_STATES = {s.value for s in TaskState} - {"none"}


def _states(given: list[str] | None) -> tuple[str | None, ...]:
    """Airflow's state names (``none`` or ``no_status``: not set yet)."""
    found: list[str | None] = []
    for value in given or ():
        for name in value.split(","):
            if name in ("none", "no_status", "null"):
                found.append(None)
            elif name in TI_STATES:
                found.append(name)
            elif name:
                raise unprocessable(
                    f"{name!r} is not a task instance state ({', '.join(sorted(TI_STATES))})",
                    "query",
                    "state",
                )
    return tuple(found)


@dataclass(frozen=True)
class TiFilters:
    """Airflow's query filters of a list of task instances (and of listMapped)."""

    dates: dict[str, Any]
    durations: dict[str, Any]
    texts: TextFilters
    task_group_id: str | None = None
    state: list[str] | None = None
    pool: list[str] | None = None
    queue: list[str] | None = None
    executor: list[str] | None = None
    version_number: list[int] | None = None
    try_number: list[int] | None = None
    operator: list[str] | None = None
    map_index: list[int] | None = None

    def query(self, dag_id: str | None, run_id: str | None, **more: Any) -> TiQuery:
        return TiQuery(
            dag_id=dag_id,
            run_id=run_id,
            states=_states(self.state),
            bounds=self.dates,
            durations=self.durations,
            pools=tuple(self.pool or ()),
            queues=tuple(self.queue or ()),
            map_indexes=tuple(self.map_index or ()),
            try_numbers=tuple(self.try_number or ()),
            operators=tuple(self.operator or ()),
            texts=self.texts,
            task_group_id=self.task_group_id,
            version_numbers=tuple(self.version_number or ()),
            executors=tuple(self.executor or ()),
            **more,
        )


#: The text filters of listMapped; a task instance list takes the others of TEXT_FIELDS too.
MAPPED_TEXTS = ("pool_name", "queue_name", "operator_name", "rendered_map_index")


def mapped_filters(
    dates: Annotated[
        dict[str, Any],
        Depends(bounds("run_after", "logical_date", "start_date", "end_date", "updated_at")),
    ],
    durations: Annotated[dict[str, Any], Depends(bounds("duration", kind=float))],
    texts: Annotated[TextFilters, Depends(text_filters(*MAPPED_TEXTS))],
    state: Names = None,
    pool: Names = None,
    queue: Names = None,
    executor: Names = None,
    version_number: Annotated[list[int] | None, Query()] = None,
    try_number: Annotated[list[int] | None, Query()] = None,
    operator: Names = None,
    map_index: Annotated[list[int] | None, Query()] = None,
) -> TiFilters:
    """The filters of listMapped, each as Airflow names it; the list's take more."""
    return TiFilters(**{k: v for k, v in locals().items()})


def ti_filters(
    shared: Annotated[TiFilters, Depends(mapped_filters)],
    texts: Annotated[
        TextFilters, Depends(text_filters(*(f for f in TEXT_FIELDS if f not in MAPPED_TEXTS)))
    ],
    task_group_id: Pattern = None,
) -> TiFilters:
    """The filters of a task instance list, each as Airflow names it."""
    return replace(shared, texts={**shared.texts, **texts}, task_group_id=task_group_id)


Filters = Annotated[TiFilters, Depends(ti_filters)]
Cursor = Annotated[str | None, Query(max_length=2000)]


def _collection(found: ListPage[TaskInstanceResponse]) -> TaskInstanceCollectionResponse:
    return TaskInstanceCollectionResponse(
        task_instances=found.items,
        total_entries=found.total,
        total_entries_limit=found.total_limit,
        next_cursor=found.next_cursor,
        previous_cursor=found.previous_cursor,
    )


def _check_group(conn: Connection, dag_id: str | None, group_id: str | None) -> None:
    """404 for a task group the DAG's current version does not have, as Airflow answers."""
    if group_id is None or dag_id is None:
        return
    dag = serialized_dag(conn, dag_reads.get_dag(conn, dag_id).version_hash)
    if not any(g.get("group_id") == group_id for g in dag.task_groups):
        raise HTTPException(404, f"Task group {group_id} not found")


@router.get(BASE)
def get_task_instances(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    user: Reader,
    filters: Filters,
    page: Annotated[Page, Depends(paged("map_index"))],
    task_id: Annotated[str | None, Query(max_length=250)] = None,
    cursor: Cursor = None,
) -> TaskInstanceCollectionResponse:
    """Task instances of a run; ``~`` for the DAG, the run or both lists across them; paged
    by ``offset`` or, with ``cursor``, by keyset."""
    if dag_id != ALL:
        require_dag(user, dag_id)
    query = filters.query(
        None if dag_id == ALL else dag_id,
        None if dag_run_id == ALL else dag_run_id,
        task_ids=(task_id,) if task_id else (),
    )
    with get_store(request).read() as conn:
        if dag_id != ALL and dag_run_id != ALL:
            run_reads.get_run(conn, dag_id, dag_run_id)  # 404 for an unknown run
        _check_group(conn, query.dag_id, query.task_group_id)
        return _collection(list_instances(conn, user, query, page, cursor))


@router.post(BASE + "/list")
def get_task_instances_batch(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    body: TaskInstancesBatchBody,
    user: Reader,
) -> TaskInstanceCollectionResponse:
    """Task instances across DAGs and runs (the path's are ``~``), filtered by the body."""
    page = Page.of(
        body.page_limit, body.page_offset, [body.order_by] if body.order_by else None, "map_index"
    )
    dag_ids: list[str | None] = (
        list(body.dag_ids) if body.dag_ids else [None if dag_id == ALL else dag_id]
    )
    run_ids: list[str | None] = (
        list(body.dag_run_ids) if body.dag_run_ids else [None if dag_run_id == ALL else dag_run_id]
    )
    with get_store(request).read() as conn:
        found = []
        for one_dag in dag_ids:
            if one_dag is not None:
                require_dag(user, one_dag)
            for one_run in run_ids:
                query = TiQuery(
                    dag_id=one_dag,
                    run_id=one_run,
                    task_ids=tuple(body.task_ids or ()),
                    states=tuple(body.state or ()),
                    bounds=body.date_bounds(),
                    durations=body.duration_bounds(),
                    pools=tuple(body.pool or ()),
                    queues=tuple(body.queue or ()),
                    executors=tuple(body.executor or ()),
                )
                found += find_instances(conn, user, query)
        results, total = page.apply(found, TI_FIELDS), len(found)
        return TaskInstanceCollectionResponse(
            task_instances=[f.response() for f in results], total_entries=total
        )


def _one(request: Request, user: User, at: TaskAt) -> TaskInstanceResponse:
    with reading(request, user, at) as (conn, run, row):
        found = ti_response(run, serialized_dag(conn, run.version_hash), row)
        # The template fields its latest try rendered, masked (a list leaves them out).
        rendered = task_reads.rendered_fields(conn, row.id, row.try_number)
    if isinstance(rendered, dict):
        found.rendered_fields = rendered
    return found


@router.get(BASE + "/{task_id}")
def get_task_instance(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, task_id: TaskIdPath, user: Reader
) -> TaskInstanceResponse:
    # The path's own parameters, not a bundle: airflow2.py's route calls this one with them.
    return _one(request, user, TaskAt(dag_id, dag_run_id, task_id))


@router.get(BASE + "/{task_id}/{map_index:map_index}")
def get_mapped_task_instance(
    request: Request, at: MappedInstance, user: Reader
) -> TaskInstanceResponse:
    return _one(request, user, at)


@router.get(BASE + "/{task_id}/listMapped")
def get_mapped_task_instances(
    request: Request,
    task: Task,
    user: Reader,
    filters: Annotated[TiFilters, Depends(mapped_filters)],
    page: Annotated[Page, Depends(paged("map_index"))],
) -> TaskInstanceCollectionResponse:
    """The instances of a mapped task, by map index, with the filters of the list."""
    require_dag(user, task.dag_id)
    query = filters.query(task.dag_id, task.dag_run_id, task_ids=(task.task_id,), mapped_only=True)
    with get_store(request).read() as conn:
        run = run_reads.get_run(conn, task.dag_id, task.dag_run_id)
        if not task_reads.count_mapped(conn, run.id, task.task_id):
            raise HTTPException(404, f"Task id {task.task_id} is not mapped")
        return _collection(list_instances(conn, user, query, page))


@router.get(BASE + "/{task_id}/tries")
def get_task_instance_tries(
    request: Request, at: QueriedInstance, user: Reader
) -> TaskInstanceHistoryCollectionResponse:
    with reading(request, user, at) as (conn, run, row):
        dag = serialized_dag(conn, run.version_hash)
        found = sorted(task_reads.tries(conn, [row.id]), key=lambda t: t.try_number)
    shown = [try_response(run, dag, row, attempt) for attempt in found]
    return TaskInstanceHistoryCollectionResponse(task_instances=shown, total_entries=len(shown))


@router.get(BASE + "/{task_id}/{map_index:map_index}/tries")
def get_mapped_task_instance_tries(
    request: Request, at: MappedInstance, user: Reader
) -> TaskInstanceHistoryCollectionResponse:
    return get_task_instance_tries(request, at, user)


@router.get(BASE + "/{task_id}/tries/{task_try_number}")
def get_task_instance_try_details(
    request: Request, at: QueriedTry, user: Reader
) -> TaskInstanceHistoryResponse:
    number = at.task_try_number
    with reading(request, user, at) as (conn, run, row):
        attempt = task_reads.get_try(conn, row.id, number)
        if attempt is None:
            raise HTTPException(
                404,
                f"The Task Instance with dag_id: `{at.dag_id}`, run_id: `{at.dag_run_id}`, "
                f"task_id: `{at.task_id}`, try_number: `{number}` and map_index: "
                f"`{at.map_index}` was not found",
            )
        return try_response(run, serialized_dag(conn, run.version_hash), row, attempt)


@router.get(BASE + "/{task_id}/{map_index:map_index}/tries/{task_try_number}")
def get_mapped_task_instance_try_details(
    request: Request, at: MappedTry, user: Reader
) -> TaskInstanceHistoryResponse:
    return get_task_instance_try_details(request, at, user)


#: ``map_index`` of a PATCH without one in its path: None marks every instance of the task.
EveryIndexQuery = Annotated[int | None, Query(ge=-1, le=2**31 - 1)]
Mask = Annotated[list[str] | None, Query(max_length=10)]


@dataclass(frozen=True)
class MarkAt:
    """What a PATCH marks and its ``update_mask``: the route's parameters, in the order
    Airflow's document lists them."""

    dag_id: DagIdPath
    dag_run_id: RunIdPath
    task_id: TaskIdPath
    map_index: EveryIndexQuery = None
    update_mask: Mask = None


@dataclass(frozen=True)
class MappedMarkAt(MarkAt):
    """What a PATCH with a map index in its path marks."""

    map_index: MapIndexPath = field()  # no default: not the base's None (a class attribute)


Marked = Annotated[MarkAt, Depends()]
MappedMarked = Annotated[MappedMarkAt, Depends()]


def _patch(
    request: Request, user: User, at: MarkAt, body: PatchTaskInstanceBody, preview: bool
) -> TaskInstanceCollectionResponse:
    """Mark the task instance (every instance of a mapped task, without ``map_index``)
    success or failed, and/or set its note; ``preview``: only say which would change."""
    dag_id, run_id, task_id, map_index = at.dag_id, at.dag_run_id, at.task_id, at.map_index
    require_dag(user, dag_id, EDIT)
    fields = set(at.update_mask) if at.update_mask else body.model_fields_set
    unknown = fields - MARK_FIELDS
    if unknown:
        raise HTTPException(400, f"Invalid fields to update: {sorted(unknown)}")
    related = [
        n
        for n in ("include_upstream", "include_downstream", "include_future", "include_past")
        if getattr(body, n)
    ]
    if related:
        raise HTTPException(
            400,
            f"{', '.join(related)}: Conveyor marks the task instance alone; mark the others "
            "too, or clear with POST /api/v2/dags/{dag_id}/clearTaskInstances",
        )
    state = marked_state(body.new_state if "new_state" in fields else None)
    store = get_store(request)
    actor = Actor(f"user:{user.username}")

    def change(conn: Connection) -> None:
        if state is not None:
            manual.mark(conn, dag_id, run_id, task_id, state, actor, map_index)
        if "note" in fields:
            notes.set_task_note(
                conn, dag_id, run_id, task_id, body.note, -1 if map_index is None else map_index
            )

    with store.read() as conn:
        run = run_reads.get_run(conn, dag_id, run_id)
        before = [
            r
            for r in task_reads.instances(conn, run.id)
            if r.task_id == task_id and (map_index is None or r.map_index == map_index)
        ]
        if not before:
            instance_or_404(conn, dag_id, run_id, task_id, -1 if map_index is None else map_index)
    if preview:
        note_each(request, [])  # a preview changes nothing: no audit entry
        dry_run(store, change)
        with store.read() as conn:
            shown = run_instances(conn, run, before)
        return TaskInstanceCollectionResponse(task_instances=shown, total_entries=len(shown))
    with store.write() as conn:
        change(conn)
    with store.read() as conn:
        keys = {(r.task_id, r.map_index) for r in before}
        after = [r for r in task_reads.instances(conn, run.id) if (r.task_id, r.map_index) in keys]
        shown = run_instances(conn, run, after)
    return TaskInstanceCollectionResponse(task_instances=shown, total_entries=len(shown))


@router.patch(BASE + "/{task_id}", name="mark_task")
def patch_task_instance(
    request: Request, at: Marked, body: PatchTaskInstanceBody, user: Editor
) -> TaskInstanceCollectionResponse:
    return _patch(request, user, at, body, preview=False)


@router.patch(BASE + "/{task_id}/{map_index:map_index}", name="mark_task")
def patch_task_instance_by_map_index(
    request: Request, at: MappedMarked, body: PatchTaskInstanceBody, user: Editor
) -> TaskInstanceCollectionResponse:
    return patch_task_instance(request, at, body, user)


@router.patch(BASE + "/{task_id}/dry_run")
def patch_task_instance_dry_run(
    request: Request, at: Marked, body: PatchTaskInstanceBody, user: Editor
) -> TaskInstanceCollectionResponse:
    return _patch(request, user, at, body, preview=True)


@router.patch(BASE + "/{task_id}/{map_index:map_index}/dry_run")
def patch_task_instance_dry_run_by_map_index(
    request: Request, at: MappedMarked, body: PatchTaskInstanceBody, user: Editor
) -> TaskInstanceCollectionResponse:
    return patch_task_instance_dry_run(request, at, body, user)
