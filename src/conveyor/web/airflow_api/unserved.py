"""Airflow's routes that Conveyor does not serve answer 501 naming the path, not 404.

:data:`AIRFLOW_ROUTES` lists the method and path of every route of Airflow 3.3's public API
(tests check it against the published spec); the catch-all below answers those that no
router here serves with 501. A method that neither Airflow's spec nor Conveyor has for a
path that exists is a 405 whose ``Allow`` header lists the methods served there; a served
route's path whose map index is no whole number is Airflow's 422; anything else under
``/api/v2`` is a 404.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from conveyor.web.airflow_api.access import api_user

#: Method and path (under /api/v2) of each route of Airflow's published spec ({TI}: the
#: task instances of a run, TASK_INSTANCES below).
AIRFLOW_ROUTES_TEXT = """
GET    /assets
GET    /assets/aliases
GET    /assets/aliases/{asset_alias_id}
GET    /assets/events
POST   /assets/events
GET    /assets/{asset_id}
POST   /assets/{asset_id}/materialize
DELETE /assets/{asset_id}/queuedEvents
GET    /assets/{asset_id}/queuedEvents
DELETE /assets/{asset_id}/state-store
GET    /assets/{asset_id}/state-store
DELETE /assets/{asset_id}/state-store/{key}
GET    /assets/{asset_id}/state-store/{key}
PUT    /assets/{asset_id}/state-store/{key}
GET    /auth/login
GET    /auth/logout
GET    /backfills
POST   /backfills
POST   /backfills/dry_run
GET    /backfills/{backfill_id}
PUT    /backfills/{backfill_id}/cancel
PUT    /backfills/{backfill_id}/pause
PUT    /backfills/{backfill_id}/unpause
GET    /config
GET    /config/section/{section}/option/{option}
GET    /connections
PATCH  /connections
POST   /connections
POST   /connections/defaults
GET    /connections/enqueue-test
POST   /connections/enqueue-test
POST   /connections/test
DELETE /connections/{connection_id}
GET    /connections/{connection_id}
PATCH  /connections/{connection_id}
GET    /dagSources/{dag_id}
GET    /dagStats
GET    /dagTags
GET    /dagWarnings
GET    /dags
PATCH  /dags
DELETE /dags/{dag_id}
GET    /dags/{dag_id}
PATCH  /dags/{dag_id}
DELETE /dags/{dag_id}/assets/queuedEvents
GET    /dags/{dag_id}/assets/queuedEvents
DELETE /dags/{dag_id}/assets/{asset_id}/queuedEvents
GET    /dags/{dag_id}/assets/{asset_id}/queuedEvents
POST   /dags/{dag_id}/clearDagRuns
POST   /dags/{dag_id}/clearPartitions
POST   /dags/{dag_id}/clearTaskInstances
GET    /dags/{dag_id}/dagRuns
PATCH  /dags/{dag_id}/dagRuns
POST   /dags/{dag_id}/dagRuns
POST   /dags/{dag_id}/dagRuns/list
DELETE /dags/{dag_id}/dagRuns/{dag_run_id}
GET    /dags/{dag_id}/dagRuns/{dag_run_id}
PATCH  /dags/{dag_id}/dagRuns/{dag_run_id}
POST   /dags/{dag_id}/dagRuns/{dag_run_id}/clear
GET    /dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails
PATCH  /dags/{dag_id}/dagRuns/{dag_run_id}/taskGroupInstances/{group_id}
PATCH  /dags/{dag_id}/dagRuns/{dag_run_id}/taskGroupInstances/{group_id}/dry_run
GET    {TI}
PATCH  {TI}
POST   {TI}/list
DELETE {TI}/{task_id}
GET    {TI}/{task_id}
PATCH  {TI}/{task_id}
GET    {TI}/{task_id}/dependencies
PATCH  {TI}/{task_id}/dry_run
GET    {TI}/{task_id}/externalLogUrl/{try_number}
GET    {TI}/{task_id}/links
GET    {TI}/{task_id}/listMapped
GET    {TI}/{task_id}/logs/{try_number}
DELETE {TI}/{task_id}/state-store
GET    {TI}/{task_id}/state-store
DELETE {TI}/{task_id}/state-store/{key}
GET    {TI}/{task_id}/state-store/{key}
PATCH  {TI}/{task_id}/state-store/{key}
PUT    {TI}/{task_id}/state-store/{key}
GET    {TI}/{task_id}/tries
GET    {TI}/{task_id}/tries/{task_try_number}
GET    {TI}/{task_id}/xcomEntries
POST   {TI}/{task_id}/xcomEntries
DELETE {TI}/{task_id}/xcomEntries/{xcom_key}
GET    {TI}/{task_id}/xcomEntries/{xcom_key}
PATCH  {TI}/{task_id}/xcomEntries/{xcom_key}
GET    {TI}/{task_id}/{map_index}
PATCH  {TI}/{task_id}/{map_index}
GET    {TI}/{task_id}/{map_index}/dependencies
PATCH  {TI}/{task_id}/{map_index}/dry_run
GET    {TI}/{task_id}/{map_index}/hitlDetails
PATCH  {TI}/{task_id}/{map_index}/hitlDetails
GET    {TI}/{task_id}/{map_index}/hitlDetails/tries/{try_number}
GET    {TI}/{task_id}/{map_index}/tries
GET    {TI}/{task_id}/{map_index}/tries/{task_try_number}
GET    /dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents
GET    /dags/{dag_id}/dagRuns/{dag_run_id}/wait
GET    /dags/{dag_id}/dagVersions
GET    /dags/{dag_id}/dagVersions/{version_number}
GET    /dags/{dag_id}/details
POST   /dags/{dag_id}/favorite
GET    /dags/{dag_id}/tasks
GET    /dags/{dag_id}/tasks/{task_id}
POST   /dags/{dag_id}/unfavorite
GET    /eventLogs
GET    /eventLogs/{event_log_id}
GET    /importErrors
GET    /importErrors/{import_error_id}
GET    /jobs
GET    /monitor/health
PUT    /parseDagFile/{file_token}
GET    /plugins
GET    /plugins/importErrors
GET    /pools
PATCH  /pools
POST   /pools
DELETE /pools/{pool_name}
GET    /pools/{pool_name}
PATCH  /pools/{pool_name}
GET    /providers
GET    /variables
PATCH  /variables
POST   /variables
DELETE /variables/{variable_key}
GET    /variables/{variable_key}
PATCH  /variables/{variable_key}
GET    /version
"""

#: How the list above spells the task instances' prefix, to keep its lines short.
TASK_INSTANCES = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
AIRFLOW_ROUTES: frozenset[tuple[str, str]] = frozenset(
    (line.split()[0], line.split()[1].replace("{TI}", TASK_INSTANCES))
    for line in AIRFLOW_ROUTES_TEXT.strip().splitlines()
)
_PARAMETER = re.compile(r"\\{[^/]+?\\}")


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + _PARAMETER.sub("[^/]+", re.escape(template)) + "$")


# Literal segments before parameters: "/dags/x/dagRuns/y/taskInstances/t/tries" names the
# tries route, not the one of a map index "tries".
_MATCHERS = sorted(
    ((method, template, _pattern(template)) for method, template in AIRFLOW_ROUTES),
    key=lambda entry: (entry[1].count("{"), entry[1]),
)

router = APIRouter(include_in_schema=False)
#: Where this API is mounted, as its OpenAPI document's paths begin.
PREFIX = "/api/v2"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def airflow_route(method: str, path: str) -> str | None:
    """The template of Airflow's route that ``method path`` requests, if any."""
    for known_method, template, pattern in _MATCHERS:
        if known_method == method and pattern.match(path):
            return template
    return None


def _airflow_has_path(path: str) -> bool:
    return any(pattern.match(path) for _method, _template, pattern in _MATCHERS)


def served_methods(request: Request, path: str) -> list[str]:
    """The methods this API serves at ``path`` (under /api/v2), sorted: read from its OpenAPI
    document, which lists every served route and leaves this catch-all out."""
    document = request.app.openapi()
    found: set[str] = set()
    for template, item in document.get("paths", {}).items():
        if _pattern(template.removeprefix(PREFIX)).match(path):
            found |= {method.upper() for method in item if method.upper() in METHODS}
    return sorted(found)


@router.api_route("/{path:path}", methods=list(METHODS))
async def not_served(request: Request, path: str) -> JSONResponse:
    route = airflow_route(request.method, "/" + path)
    served = route is not None and request.method in served_methods(request, "/" + path)
    if route is not None and served and "{map_index}" in route:
        await api_user(request)  # who calls is asked first, as on the route itself (401)
        return _unparsed_path(route, "/" + path)
    if route is None:
        allowed = served_methods(request, "/" + path)
        if allowed or _airflow_has_path("/" + path):
            return JSONResponse(
                status_code=405,
                content={"detail": "Method Not Allowed"},
                headers={"Allow": ", ".join(allowed)},
            )
        return JSONResponse(status_code=404, content={"detail": "Not Found"})
    return JSONResponse(
        status_code=501,
        content={
            "detail": f"{request.method} /api/v2{route} is part of Airflow's REST API that "
            "Conveyor does not serve; docs/api.md lists what it serves and what to use "
            "instead"
        },
    )


def _unparsed_path(template: str, path: str) -> JSONResponse:
    """A served route's path whose map index is no whole number (``.../extract/null``, or
    ``PATCH .../extract/state-store``): Airflow's 422, naming the parameter."""
    names = re.findall(r"\{([^}]+)\}", template)
    values = _pattern_groups(template).match(path)
    found = dict(zip(names, values.groups() if values else (), strict=False))
    value = found.get("map_index", "")
    return JSONResponse(
        status_code=422,
        content={
            "detail": [
                {
                    "type": "int_parsing",
                    "loc": ["path", "map_index"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": value,
                }
            ]
        },
    )


def _pattern_groups(template: str) -> re.Pattern[str]:
    return re.compile("^" + _PARAMETER.sub("([^/]+)", re.escape(template)) + "$")
