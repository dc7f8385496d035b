"""DAGs: list, detail, pause, source, import errors, the grid."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from conveyor.store import dag_actions
from conveyor.web import audit_trail, dag_list, queries, schemas
from conveyor.web.api.common import AUTH, MAX_INT, NOT_FOUND, DagId, DagOp, DagViewer
from conveyor.web.dag_access import dag_scope, hidden_folder, readable_dag_ids
from conveyor.web.dag_list import DagOrder, DagQuery, DagState
from conveyor.web.dag_selection import like
from conveyor.web.deps import get_store

router = APIRouter(tags=["dags"], responses=AUTH)

#: The DAG list's filters that ``PATCH /dags`` takes too.
Tags = Annotated[list[str] | None, Query(description="repeat for several: DAGs with any of them")]
Search = Annotated[
    str | None,
    Query(max_length=200, description="every word in the id, description, tags or owners"),
]


def _check_tags(tags: list[str] | None) -> None:
    for value in tags or []:
        if len(value) > 200:
            raise HTTPException(422, "tag: at most 200 characters")


@router.get("/dags")
def list_dags(
    request: Request,
    user: DagViewer,
    include_inactive: bool = False,
    tag: Tags = None,
    search: Search = None,
    state: Annotated[
        DagState | None,
        Query(
            description="the state of the newest run (failed, success, running, queued), "
            "or paused or active"
        ),
    ] = None,
    order_by: DagOrder = "dag_id",
    limit: Annotated[int | None, Query(ge=1, le=1000, description="default: all")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> schemas.DagList:
    """DAGs with their schedule, pause state and most recent runs; ``total`` counts every
    DAG that matches, ``counts`` how many of those are in each state."""
    _check_tags(tag)
    query = DagQuery(
        include_inactive=include_inactive,
        tags=tuple(tag or ()),
        search=search,
        state=state,
        order=order_by,
        limit=limit,
        offset=offset,
        dag_ids=readable_dag_ids(request, user),
    )
    with get_store(request).read() as conn:
        return queries.list_dags(conn, query)


@router.get("/import-errors")
def import_errors(request: Request, user: DagViewer) -> schemas.ImportErrorList:
    """DAG files that fail to load: file, line and message (for a user who may read only
    some DAGs: the files of those DAGs)."""
    with get_store(request).read() as conn:
        return queries.list_import_errors(
            conn, readable_dag_ids(request, user), hidden_folder(request, user)
        )


@router.get("/dags/{dag_id}", responses=NOT_FOUND)
def get_dag(request: Request, dag_id: DagId, user: DagViewer) -> schemas.DagDetail:
    """One DAG: its tasks (operator, upstream, queue, retries, trigger rule) and params."""
    with get_store(request).read() as conn:
        return queries.get_dag(conn, dag_id)


@router.patch("/dags/{dag_id}", responses=NOT_FOUND)
def patch_dag(
    request: Request, dag_id: DagId, body: schemas.DagPatch, user: DagOp
) -> schemas.DagDetail:
    """Pause or unpause a DAG (op)."""
    store = get_store(request)
    with store.write() as conn:
        dag_actions.set_paused(conn, dag_id, body.is_paused)
    with store.read() as conn:
        return queries.get_dag(conn, dag_id)


@router.patch("/dags")
def patch_dags(
    request: Request,
    body: schemas.DagPatch,
    user: DagOp,
    dag_id: Annotated[
        list[str] | None, Query(max_length=250, description="exact DAG ids (repeat for several)")
    ] = None,
    dag_id_pattern: Annotated[
        str | None,
        Query(
            max_length=250,
            description="Airflow's SQL LIKE pattern on the DAG id, case-insensitive: "
            "% any text, _ one character (e.g. %customer_%)",
        ),
    ] = None,
    tag: Tags = None,
    search: Search = None,
    state: Annotated[
        DagState | None,
        Query(description="as in GET /dags: the newest run's state, or paused or active"),
    ] = None,
) -> schemas.DagsPatched:
    """Pause or unpause every active DAG the filter matches, as the DAG list filters (op),
    in one transaction; no filter: every DAG, as in Airflow 3. The audit log gets an entry
    for each DAG changed."""
    _check_tags(tag)
    editable = dag_scope(request, user).editable
    query = DagQuery(tags=tuple(tag or ()), search=search, state=state, dag_ids=editable)
    ids, pattern = set(dag_id or ()), like(dag_id_pattern) if dag_id_pattern else None
    store = get_store(request)
    with store.write() as conn:
        matched = [
            d.row.dag_id
            for d in dag_list.list_dags(conn, query).dags
            if (not ids or d.row.dag_id in ids) and (pattern is None or pattern.match(d.row.dag_id))
        ]
        changed = dag_actions.set_paused_many(conn, matched, body.is_paused)
    audit_trail.note_each(request, changed)
    return schemas.DagsPatched(
        is_paused=body.is_paused, matched=matched, changed=changed, total_entries=len(matched)
    )


@router.get("/dags/{dag_id}/source", responses=NOT_FOUND)
def get_source(request: Request, dag_id: DagId, user: DagViewer) -> schemas.DagSource:
    """The source file of the DAG's current version, as the store keeps it."""
    with get_store(request).read() as conn:
        return queries.get_source(conn, dag_id)


@router.get("/dags/{dag_id}/grid", responses=NOT_FOUND)
def get_grid(
    request: Request,
    dag_id: DagId,
    user: DagViewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 25,
    before: Annotated[
        datetime | None, Query(description="only runs of an earlier logical date (older page)")
    ] = None,
    after: Annotated[
        datetime | None, Query(description="the runs of the next logical dates after this")
    ] = None,
    compact: Annotated[
        bool, Query(description="each run's states as one letter a task (codes), not an object")
    ] = False,
    task_id: Annotated[
        list[str] | None,
        Query(
            max_length=250,
            description="only these tasks' states (repeat for several); empty: the runs alone",
        ),
    ] = None,
) -> schemas.Grid:
    """The latest ``limit`` runs, newest first, with every task instance's state; a page of
    older runs with ``before``, of newer ones with ``after`` (logical dates); ``compact``:
    the states as a string of letters a run (``codes``) with their legend (``states``)."""
    if before is not None and after is not None:
        raise HTTPException(422, "give before or after, not both")
    dates = {"before": before, "after": after}
    for name, value in dates.items():
        if value is None:
            continue
        if value.tzinfo is None:
            raise HTTPException(422, f"{name}: give a time zone, e.g. 2026-01-01T00:00:00Z")
        try:
            dates[name] = value.astimezone(UTC)
        except OverflowError:
            raise HTTPException(422, f"{name}: {value.isoformat()} is out of range") from None
    with get_store(request).read() as conn:
        return queries.grid(
            conn,
            dag_id,
            limit,
            before=dates["before"],
            after=dates["after"],
            compact=compact,
            task_ids=None if task_id is None else [t for t in task_id if t],
        )
