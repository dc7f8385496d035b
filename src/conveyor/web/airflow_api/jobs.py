"""``/api/v2/jobs``: Conveyor's schedulers, triggerers and workers, as Airflow's job rows.

Conveyor keeps no job table: each of these processes records its start, heartbeats and stop
(``store.liveness``), which is what a job row says. ``job_type`` is ``SchedulerJob`` and
``TriggererJob`` as in Airflow, and ``WorkerJob`` for a Celery worker (Airflow lists none);
the state is ``running`` while the process has not recorded a stop, ``success`` once it
stopped cleanly; ``is_alive`` is the liveness rule every other view uses (a heartbeat
within three periods). A process has no number of its own, so a job's ``id`` is a stable
number made from its kind and name. The newest 100 schedulers and triggerers and every worker
are listed, as ``/api/v1/schedulers`` and its neighbours list them.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from conveyor.airflow_settings import EXECUTORS
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.store.liveness import ProcessBeat, stale_after
from conveyor.store.reads import cluster
from conveyor.web.airflow_api.common import Page, Reader, bounds, paged, utc
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["Job"])

SCHEDULER, TRIGGERER, WORKER = "SchedulerJob", "TriggererJob", "WorkerJob"
#: A job's states (Airflow's ``JobState``), not a run's or a task's.
RUNNING = "running"
SUCCESS = "success"
#: The executor each scheduler runs tasks with, by Conveyor's setting, as Airflow names it.
EXECUTOR_CLASSES = {name: airflow for airflow, name in EXECUTORS.items()}

Text = Annotated[str | None, Query(max_length=250)]


class JobResponse(BaseModel):
    id: int
    dag_id: str | None = None
    state: str | None
    job_type: str | None
    start_date: datetime | None
    end_date: datetime | None
    latest_heartbeat: datetime | None
    executor_class: str | None
    hostname: str | None
    unixname: str | None = None
    dag_display_name: str | None = None


class JobCollectionResponse(BaseModel):
    jobs: list[JobResponse]
    total_entries: int


def _job_id(job_type: str, name: str) -> int:
    return zlib.crc32(f"{job_type}:{name}".encode()) & 0x7FFFFFFF


def _job(job_type: str, name: str, beat: ProcessBeat, executor: str | None) -> JobResponse:
    return JobResponse(
        id=_job_id(job_type, name),
        state=SUCCESS if beat.stopped_at is not None else RUNNING,
        job_type=job_type,
        start_date=utc(beat.started_at),
        end_date=utc(beat.stopped_at),
        latest_heartbeat=utc(beat.heartbeat_at),
        executor_class=executor,
        hostname=beat.hostname,
    )


def _jobs(request: Request, settings: Settings) -> list[tuple[JobResponse, bool]]:
    """Every job with whether its process is alive now."""
    now, stale = utcnow(), stale_after(settings.heartbeat_seconds)
    executor = EXECUTOR_CLASSES.get(settings.executor)
    found: list[tuple[JobResponse, bool]] = []
    with get_store(request).read() as conn:
        for s in cluster.schedulers(conn):
            found.append((_job(SCHEDULER, s.id, s, executor), s.alive(now, stale)))
        for t in cluster.triggerers(conn):
            found.append((_job(TRIGGERER, t.id, t, None), t.alive(now, stale)))
        for w in cluster.workers(conn):
            found.append((_job(WORKER, w.hostname, w, None), w.alive(now, stale)))
    return found


def _within(job: JobResponse, ranges: dict[str, datetime]) -> bool:
    for name, bound in ranges.items():
        column, _, op = name.rpartition("_")
        value = getattr(job, column)
        if value is None:
            return False
        ok = {
            "gte": value >= bound,
            "gt": value > bound,
            "lte": value <= bound,
            "lt": value < bound,
        }[op]
        if not ok:
            return False
    return True


ORDER_FIELDS: dict[str, Any] = {
    name: (lambda field: lambda job: getattr(job, field))(name)
    for name in (
        "id",
        "dag_id",
        "state",
        "job_type",
        "start_date",
        "end_date",
        "latest_heartbeat",
        "executor_class",
        "hostname",
        "unixname",
    )
}


@router.get(
    "/jobs",
    openapi_extra=differs(
        "the schedulers, triggerers and Celery workers (WorkerJob) that record heartbeats; "
        "no DAG processor or task jobs"
    ),
)
def get_jobs(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("id"))],
    ranges: Annotated[dict[str, Any], Depends(bounds("start_date", "end_date"))],
    job_state: Text = None,
    job_type: Text = None,
    hostname: Text = None,
    executor_class: Text = None,
    is_alive: bool | None = None,
) -> JobCollectionResponse:
    """The jobs the filters select; ``is_alive``: only those whose process is (or is not)
    alive now."""
    page.keys(list(ORDER_FIELDS))  # a bad order_by is a 400 even when nothing matches
    wanted = {
        "state": job_state,
        "job_type": job_type,
        "hostname": hostname,
        "executor_class": executor_class,
    }
    found = [
        job
        for job, alive in _jobs(request, get_settings(request))
        if all(value is None or getattr(job, name) == value for name, value in wanted.items())
        and (is_alive is None or alive == is_alive)
        and _within(job, ranges)
    ]
    return JobCollectionResponse(jobs=page.apply(found, ORDER_FIELDS), total_entries=len(found))
