"""Workers and schedulers, with their heartbeats and whether they look alive."""

from __future__ import annotations

from fastapi import APIRouter, Request

from conveyor.web import queries, schemas
from conveyor.web.api.common import AUTH, Viewer
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["cluster"], responses=AUTH)


@router.get("/workers", response_model=schemas.WorkerList)
def list_workers(request: Request, user: Viewer) -> schemas.WorkerList:
    """Celery workers seen by the store; alive: a heartbeat within 3 heartbeat periods."""
    with get_store(request).read() as conn:
        return queries.list_workers(conn, get_settings(request).heartbeat_seconds)


@router.get("/schedulers", response_model=schemas.SchedulerList)
def list_schedulers(request: Request, user: Viewer) -> schemas.SchedulerList:
    """Scheduler processes (the newest 100); alive: a heartbeat within 3 heartbeat periods."""
    with get_store(request).read() as conn:
        return queries.list_schedulers(conn, get_settings(request).heartbeat_seconds)
