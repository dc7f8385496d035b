"""The versioned JSON API: one router per subject, all under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from conveyor.web.api import (
    cluster,
    connections,
    dags,
    datasets,
    meta,
    notes,
    pools,
    runs,
    tasks,
    users,
)

API_PREFIX = "/api/v1"

api_router = APIRouter()
for module in (meta, dags, runs, notes, tasks, cluster, users, connections, pools, datasets):
    api_router.include_router(module.router)

__all__ = ["API_PREFIX", "api_router"]
