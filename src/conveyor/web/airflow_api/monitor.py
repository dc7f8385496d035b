"""``/api/v2/monitor/health`` and ``/api/v2/version``: no login needed, as in Airflow.

Health answers 200 with each component's status, as Airflow's does: ``metadatabase`` is
the store (reachable, schema current), ``scheduler`` and ``triggerer`` the newest heartbeat
of a live one (``triggerer`` null when none ever ran). Conveyor's scheduler parses the DAG
files itself, so ``dag_processor`` reports the scheduler. ``/health`` keeps Conveyor's own
probe, which answers 503 when unhealthy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from conveyor import __version__, health
from conveyor.airflow_compat.configuration import AIRFLOW_VERSION
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.store import liveness
from conveyor.store.liveness import ProcessBeat
from conveyor.web.airflow_api.common import utc
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["Monitor"])
version_router = APIRouter(tags=["Version"])

HEALTHY, UNHEALTHY = "healthy", "unhealthy"


class BaseInfoResponse(BaseModel):
    status: str | None


class SchedulerInfoResponse(BaseModel):
    status: str | None
    latest_scheduler_heartbeat: str | None


class TriggererInfoResponse(BaseModel):
    status: str | None
    latest_triggerer_heartbeat: str | None


class DagProcessorInfoResponse(BaseModel):
    status: str | None
    latest_dag_processor_heartbeat: str | None


class HealthInfoResponse(BaseModel):
    metadatabase: BaseInfoResponse
    scheduler: SchedulerInfoResponse
    triggerer: TriggererInfoResponse
    dag_processor: DagProcessorInfoResponse | None = None


#: The header of ``/version`` that names Conveyor's own release.
CONVEYOR_VERSION_HEADER = "X-Conveyor-Version"


class VersionInfo(BaseModel):
    version: str
    git_version: str | None
    #: Beside Airflow's fields: the Conveyor release serving this API.
    conveyor_version: str


def _latest(beats: list[ProcessBeat], threshold: timedelta) -> tuple[str | None, str | None]:
    """(status, newest heartbeat) of a kind of process; (None, None) when none ever ran."""
    if not beats:
        return None, None
    now = utcnow()
    newest: datetime = max(b.heartbeat_at for b in beats)
    alive = any(b.alive(now, threshold) for b in beats)
    stamp = utc(newest)
    return (HEALTHY if alive else UNHEALTHY), (stamp.isoformat() if stamp else None)


def _health(request: Request, settings: Settings) -> HealthInfoResponse:
    store = get_store(request)
    # A probe connection of its own with a timeout, unless the store lives in this process.
    report = health.check(
        settings, only=("store", "schema"), store=store if store.in_memory else None
    )
    threshold = liveness.stale_after(settings.heartbeat_seconds)
    schedulers: tuple[str | None, str | None] = (UNHEALTHY, None)
    triggerers: tuple[str | None, str | None] = (None, None)
    if report.healthy:
        with store.read() as conn:
            schedulers = _latest(list(liveness.running_schedulers(conn)), threshold)
            triggerers = _latest(list(liveness.running_triggerers(conn)), threshold)
        if schedulers[0] is None:
            schedulers = (UNHEALTHY, None)
    return HealthInfoResponse(
        metadatabase=BaseInfoResponse(status=HEALTHY if report.healthy else UNHEALTHY),
        scheduler=SchedulerInfoResponse(
            status=schedulers[0], latest_scheduler_heartbeat=schedulers[1]
        ),
        triggerer=TriggererInfoResponse(
            status=triggerers[0], latest_triggerer_heartbeat=triggerers[1]
        ),
        dag_processor=DagProcessorInfoResponse(
            status=schedulers[0], latest_dag_processor_heartbeat=schedulers[1]
        ),
    )


@router.get(
    "/monitor/health",
    openapi_extra=differs("dag_processor reports the scheduler, which parses the DAG files"),
)
async def get_health(request: Request) -> HealthInfoResponse:
    return await run_in_threadpool(_health, request, get_settings(request))


@version_router.get(
    "/version",
    openapi_extra=differs(
        f"adds conveyor_version, Conveyor's own release, also in the {CONVEYOR_VERSION_HEADER} "
        "header; git_version is null (Conveyor's packages record no commit)"
    ),
)
def get_version(response: Response) -> VersionInfo:
    """The Airflow release whose API Conveyor serves, as ``airflow.__version__`` says
    (clients pick their Airflow 3 paths by it); Conveyor's own beside it."""
    response.headers[CONVEYOR_VERSION_HEADER] = __version__
    return VersionInfo(version=AIRFLOW_VERSION, git_version=None, conveyor_version=__version__)
