"""Assets (datasets) with their producers, consumers and events; the links between DAGs.

A user who may read only some DAGs sees them as those DAGs do (``web/asset_graph.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from conveyor.web import asset_graph
from conveyor.web.api.common import AUTH, DagViewer
from conveyor.web.dag_access import readable_dag_ids
from conveyor.web.deps import get_store

router = APIRouter(tags=["assets"], responses={**AUTH})


@router.get("/assets")
def list_assets(request: Request, user: DagViewer) -> asset_graph.AssetList:
    """Every asset an active DAG names or an event updated, with who produces and consumes it."""
    with get_store(request).read() as conn:
        return asset_graph.list_assets(conn, readable_dag_ids(request, user))


@router.get("/assets/detail", responses={404: {"description": "no such asset"}})
def get_asset(
    request: Request,
    user: DagViewer,
    uri: Annotated[str, Query(min_length=1, max_length=1000, description="the asset's URI")],
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many events")] = 50,
) -> asset_graph.AssetDetail:
    """One asset (by URI, in the query: URIs hold slashes) with its newest events."""
    with get_store(request).read() as conn:
        return asset_graph.get_asset(conn, uri, limit, readable_dag_ids(request, user))


@router.get("/dag-dependencies")
def dag_dependencies(request: Request, user: DagViewer) -> asset_graph.DagDependencies:
    """DAGs and assets as a graph: producers, consumers, triggered and awaited DAGs."""
    with get_store(request).read() as conn:
        return asset_graph.dependencies(conn, readable_dag_ids(request, user))
