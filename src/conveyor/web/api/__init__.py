"""The versioned JSON API: one router per subject, all under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from conveyor.web.api import (
    assets,
    audit,
    backfills,
    bulk,
    cluster,
    connection_tests,
    connections,
    dags,
    datasets,
    meta,
    notes,
    pools,
    roles,
    runs,
    task_lists,
    tasks,
    timeline,
    users,
    versions,
)

API_PREFIX = "/api/v1"

api_router = APIRouter()
for module in (
    meta,
    dags,
    bulk,
    runs,
    notes,
    task_lists,
    tasks,
    cluster,
    users,
    roles,
    connections,
    connection_tests,
    pools,
    datasets,
    assets,
    timeline,
    audit,
    versions,
    backfills,
):
    api_router.include_router(module.router)

__all__ = ["API_PREFIX", "api_router"]
