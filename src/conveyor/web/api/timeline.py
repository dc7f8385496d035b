"""A DAG's views in time: a run's tries (Gantt), landing times, a calendar of runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from conveyor.web import timeline
from conveyor.web.api.common import AUTH, NOT_FOUND, DagId, DagViewer, RunId
from conveyor.web.deps import get_store

router = APIRouter(tags=["timeline"], responses={**AUTH, **NOT_FOUND})


@router.get("/dags/{dag_id}/runs/{run_id}/gantt")
def run_gantt(request: Request, dag_id: DagId, run_id: RunId, user: DagViewer) -> timeline.Gantt:
    """Every try of every task instance of the run, with when it was queued, started, ended."""
    with get_store(request).read() as conn:
        return timeline.gantt(conn, dag_id, run_id)


@router.get("/dags/{dag_id}/landing-times")
def landing_times(
    request: Request,
    dag_id: DagId,
    user: DagViewer,
    limit: Annotated[int, Query(ge=1, le=500, description="the latest runs by logical date")] = 50,
) -> timeline.LandingTimes:
    """How long after it was due each run ended (its landing time), and how long it ran."""
    with get_store(request).read() as conn:
        return timeline.landing_times(conn, dag_id, limit)


@router.get("/dags/{dag_id}/calendar")
def calendar(
    request: Request,
    dag_id: DagId,
    user: DagViewer,
    year: Annotated[
        int | None, Query(ge=1, le=9998, description="default: the newest run's year")
    ] = None,
) -> timeline.Calendar:
    """The DAG's runs of one year counted by day (UTC) of logical date and state."""
    with get_store(request).read() as conn:
        return timeline.calendar(conn, dag_id, year)
