"""``POST /api/v2/dags/{dag_id}/favorite`` and ``/unfavorite``: the caller's favourite DAGs,
which ``GET /api/v2/dags?is_favorite=true`` lists. Anyone who may read a DAG may mark it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from conveyor.store import favorites
from conveyor.store.reads import dags as dag_reads
from conveyor.web.airflow_api.common import DagIdPath, Reader
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_store

router = APIRouter(tags=["DAG"])


@router.post(
    "/dags/{dag_id}/favorite",
    status_code=204,
    openapi_extra=differs("marking a favourite again is no error"),
)
def favorite_dag(request: Request, dag_id: DagIdPath, user: Reader) -> Response:
    """Mark the DAG as one of the caller's favourites."""
    with get_store(request).write() as conn:
        dag_reads.get_dag(conn, dag_id)  # 404 for an unknown DAG
        if not favorites.is_favorite(conn, user.username, dag_id):
            favorites.add(conn, user.username, dag_id)
    return Response(status_code=204)


@router.post("/dags/{dag_id}/unfavorite", status_code=204)
def unfavorite_dag(request: Request, dag_id: DagIdPath, user: Reader) -> Response:
    """Unmark it; 409 when it was not one of the caller's favourites."""
    with get_store(request).write() as conn:
        dag_reads.get_dag(conn, dag_id)
        if not favorites.remove(conn, user.username, dag_id):
            raise HTTPException(409, f"DAG {dag_id!r} is not one of your favourites")
    return Response(status_code=204)
