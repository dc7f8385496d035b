"""Airflow 3's public REST API at ``/api/v2``, over Conveyor's store and actions.

A FastAPI application of its own, mounted under the web app: its answers, errors (a 422's
``detail`` is the list of errors with field locations, as Airflow's) and OpenAPI document
(``/api/v2/openapi.json``) are Airflow's shapes, apart from Conveyor's ``/api/v1``. The
web app's middlewares (body caps, the request's transaction, the audit trail) wrap it as
they wrap every route. ``POST /auth/token`` lives on the web app itself, where Airflow has it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from conveyor import __version__
from conveyor.exceptions import NotFoundError
from conveyor.store.engine import STORE_BAD_VALUE, STORE_CONFLICT
from conveyor.web.airflow_api import (
    asset_materialize,
    asset_state_store,
    assets,
    auth_redirects,
    backfills,
    clear_task_instances,
    config_api,
    connection_defaults,
    connection_tests,
    connections,
    dag_deletion,
    dag_favorites,
    dag_parsing,
    dag_runs,
    dag_sources,
    dag_stats,
    dag_tags,
    dag_tasks,
    dag_versions,
    dag_warnings,
    dags,
    error_responses,
    event_logs,
    group_marks,
    hitl_details,
    import_errors,
    jobs,
    monitor,
    plugins_api,
    pools,
    providers,
    run_asset_events,
    run_bulk,
    run_clears,
    run_wait,
    task_instances,
    task_logs,
    task_state_store,
    ti_bulk,
    ti_deletion,
    ti_dependencies,
    ti_links,
    token_endpoint,
    unserved,
    variables,
    xcoms,
)

AIRFLOW_API_PREFIX = "/api/v2"

#: The routers of the served resources, in the order they are tried; the 501 catch-all
#: comes after all of them.
RESOURCE_ROUTERS: list[Any] = [
    dags.router,
    dag_deletion.router,
    dag_favorites.router,
    dag_runs.router,
    run_wait.router,
    run_asset_events.router,
    # Before every task instance route: a key such as "links" after ".../state-store/"
    # would read as a map index and a route of its own.
    task_state_store.router,
    task_logs.router,
    ti_dependencies.router,
    ti_links.router,
    xcoms.router,  # before the task instance routes: ".../xcomEntries" is no map index
    hitl_details.router,
    ti_deletion.router,
    task_instances.router,
    clear_task_instances.router,
    # Many runs or task instances at once (bulk bodies, task groups, many clears).
    run_bulk.router,
    ti_bulk.router,
    group_marks.router,
    run_clears.router,
    # Beside DAGs and runs: one router per resource.
    variables.router,
    # Before connections: "enqueue-test" and "defaults" are no connection ids.
    connection_tests.router,
    connection_defaults.router,
    connections.router,
    pools.router,
    import_errors.router,
    event_logs.router,
    asset_state_store.router,
    asset_materialize.router,
    assets.router,
    backfills.router,
    dag_sources.router,
    dag_versions.router,
    dag_warnings.router,
    monitor.router,
    monitor.version_router,
    config_api.router,
    providers.router,
    # Tasks, DAG stats and tags, jobs, plugins, sign-in redirects, parse requests.
    dag_tasks.router,
    dag_stats.router,
    dag_tags.router,
    jobs.router,
    plugins_api.router,
    auth_redirects.router,
    dag_parsing.router,
]

token_router = token_endpoint.router


def airflow_api(state: Any) -> FastAPI:
    """The ``/api/v2`` application, sharing ``state`` (settings, store) with the web app."""
    api = FastAPI(
        title="Airflow API (served by Conveyor)",
        version=__version__,
        description="Airflow 3's public REST API as Conveyor serves it; docs/api.md lists "
        "the routes served, served with a difference, and answered 501.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        # The document's paths are full (/api/v2/...): its server is the web app's prefix,
        # never the mount point (set in _prefixed_openapi).
        root_path_in_servers=False,
        # A route's operation id is its function's name, which is Airflow's operation id.
        generate_unique_id_function=_endpoint_name,
    )
    api.state = state
    for router in RESOURCE_ROUTERS:
        api.include_router(router)
    api.include_router(unserved.router)
    _add_error_handlers(api)
    _prefixed_openapi(api)
    return api


def _endpoint_name(route: APIRoute) -> str:
    return route.endpoint.__name__


def _prefixed_openapi(api: FastAPI) -> None:
    """The document names full paths (``/api/v2/dags``), as Airflow's spec does."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
            )
            document["paths"] = {
                AIRFLOW_API_PREFIX + path: item for path, item in document.get("paths", {}).items()
            }
            error_responses.document_errors(document)
            base_url = getattr(getattr(api.state, "settings", None), "base_url", "")
            if base_url:
                document["servers"] = [{"url": base_url}]
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def _add_error_handlers(api: FastAPI) -> None:
    # A malformed body keeps FastAPI's own 422 (``detail``: a list of errors, each with
    # ``loc`` naming the field), which is what Airflow answers and its clients parse.

    @api.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )

    async def store_conflict(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, STORE_BAD_VALUE):
            return JSONResponse(
                status_code=400, content={"detail": "a value the store cannot hold"}
            )
        return JSONResponse(status_code=409, content={"detail": "conflicts with existing data"})

    for error in STORE_CONFLICT:
        api.add_exception_handler(error, store_conflict)


__all__ = ["AIRFLOW_API_PREFIX", "RESOURCE_ROUTERS", "airflow_api", "token_router"]
