"""``/health`` and ``/api/v1/health``: no login, JSON, 200 when healthy and 503 when not.

The checks are ``conveyor.health.check`` (store, schema, broker, scheduler heartbeats),
each made on a connection of its own with a timeout, so a hung store answers "unhealthy"
instead of hanging the probe.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from conveyor import health
from conveyor.web.deps import get_settings

router = APIRouter(include_in_schema=False)


async def health_response(request: Request) -> JSONResponse:
    report = await run_in_threadpool(health.check, get_settings(request))
    return JSONResponse(report.as_dict(), status_code=200 if report.healthy else 503)


@router.get("/health")
async def health_page(request: Request) -> JSONResponse:
    return await health_response(request)
