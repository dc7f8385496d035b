"""DAGs: list, detail, pause, source, import errors, the grid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from conveyor.exceptions import NotFoundError
from conveyor.store import dags as dag_store
from conveyor.web import queries, schemas
from conveyor.web.api.common import AUTH, NOT_FOUND, DagId, Op, Viewer
from conveyor.web.deps import get_store

router = APIRouter(tags=["dags"], responses=AUTH)


@router.get("/dags", response_model=schemas.DagList)
def list_dags(
    request: Request,
    user: Viewer,
    include_inactive: bool = False,
    tag: Annotated[str | None, Query(max_length=200)] = None,
) -> schemas.DagList:
    """Every DAG with its schedule, pause state and most recent runs."""
    with get_store(request).read() as conn:
        return queries.list_dags(conn, include_inactive=include_inactive, tag=tag)


@router.get("/import-errors", response_model=schemas.ImportErrorList)
def import_errors(request: Request, user: Viewer) -> schemas.ImportErrorList:
    """DAG files that fail to load: file, line and message."""
    with get_store(request).read() as conn:
        return queries.list_import_errors(conn)


@router.get("/dags/{dag_id}", response_model=schemas.DagDetail, responses=NOT_FOUND)
def get_dag(request: Request, dag_id: DagId, user: Viewer) -> schemas.DagDetail:
    """One DAG: its tasks (operator, upstream, queue, retries, trigger rule) and params."""
    with get_store(request).read() as conn:
        return queries.get_dag(conn, dag_id)


@router.patch("/dags/{dag_id}", response_model=schemas.DagDetail, responses=NOT_FOUND)
def patch_dag(
    request: Request, dag_id: DagId, body: schemas.DagPatch, user: Op
) -> schemas.DagDetail:
    """Pause or unpause a DAG (op)."""
    store = get_store(request)
    with store.write() as conn:
        if not dag_store.set_paused(conn, dag_id, body.is_paused):
            raise NotFoundError(f"no DAG {dag_id!r}")
    with store.read() as conn:
        return queries.get_dag(conn, dag_id)


@router.get("/dags/{dag_id}/source", response_model=schemas.DagSource, responses=NOT_FOUND)
def get_source(request: Request, dag_id: DagId, user: Viewer) -> schemas.DagSource:
    """The source file of the DAG's current version, as the store keeps it."""
    with get_store(request).read() as conn:
        return queries.get_source(conn, dag_id)


@router.get("/dags/{dag_id}/grid", response_model=schemas.Grid, responses=NOT_FOUND)
def get_grid(
    request: Request,
    dag_id: DagId,
    user: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 25,
) -> schemas.Grid:
    """The latest ``limit`` runs, newest first, with every task instance's state."""
    with get_store(request).read() as conn:
        return queries.grid(conn, dag_id, limit)
