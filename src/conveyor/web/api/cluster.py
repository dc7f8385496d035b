"""Workers, schedulers and triggerers, with their heartbeats and whether they look alive, and the
scheduler loop's problems (units of work that keep failing).

Whoever may read some DAG reads these; the processes name no DAG, and a user who may read
only some DAGs sees only those DAGs' problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from conveyor.web import queries, schemas
from conveyor.web.api.common import AUTH, DagViewer
from conveyor.web.dag_access import readable_dag_ids
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["cluster"], responses=AUTH)


@router.get("/workers")
def list_workers(request: Request, user: DagViewer) -> schemas.WorkerList:
    """Celery workers seen by the store; alive: a heartbeat within 3 heartbeat periods."""
    with get_store(request).read() as conn:
        return queries.list_workers(conn, get_settings(request).heartbeat_seconds)


@router.get("/schedulers")
def list_schedulers(request: Request, user: DagViewer) -> schemas.SchedulerList:
    """Scheduler processes (the newest 100); alive: a heartbeat within 3 heartbeat periods."""
    with get_store(request).read() as conn:
        return queries.list_schedulers(conn, get_settings(request).heartbeat_seconds)


@router.get("/triggerers")
def list_triggerers(request: Request, user: DagViewer) -> schemas.TriggererList:
    """Triggerer processes (the newest 100), with the triggers each runs; alive: a heartbeat
    within 3 heartbeat periods."""
    with get_store(request).read() as conn:
        return queries.list_triggerers(conn, get_settings(request).heartbeat_seconds)


@router.get("/scheduler-problems")
def list_scheduler_problems(
    request: Request,
    user: DagViewer,
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
) -> schemas.SchedulerProblemList:
    """Parts of the scheduler loop that keep failing (a DAG's new runs, a run's advance...),
    the most recent first; each goes once it works again. ``dag_id``: of one DAG only."""
    with get_store(request).read() as conn:
        return queries.list_scheduler_problems(
            conn, dag_id, readable=readable_dag_ids(request, user)
        )
