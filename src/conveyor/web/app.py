"""The web app: the JSON API under ``/api/v1``, Airflow's API under ``/api/v2``, the UI's
pages, login, health.

The web process never imports DAG files: everything it shows comes from the store
(serialized DAGs, runs, tries), so a broken DAG file cannot break it.

Behind a reverse proxy the app lives under ``base_url`` (e.g. ``/conveyor``). It is set as
the ASGI ``root_path``, so the app answers both a proxy that strips the prefix and one that
passes it through, and every URL it writes carries the prefix.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

from conveyor import __version__
from conveyor.config import Settings
from conveyor.engine import run_listeners
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import IllegalMove
from conveyor.stats import emit
from conveyor.store.engine import STORE_BAD_VALUE, STORE_CONFLICT, Store
from conveyor.web.airflow_api import AIRFLOW_API_PREFIX, airflow_api, token_router
from conveyor.web.airflow_api.airflow2 import BasicAuthMount, OwnPathsMount, airflow2_api
from conveyor.web.api import API_PREFIX, api_router
from conveyor.web.audit_trail import AuditTrail
from conveyor.web.auth import LoginRequired, login_url
from conveyor.web.docs_page import docs_router
from conveyor.web.guards import BodyLimit, JsonDepthLimit, SecurityHeaders
from conveyor.web.health import router as health_router
from conveyor.web.login import router as login_router
from conveyor.web.oidc_login import oidc_form_targets
from conveyor.web.oidc_login import router as oidc_login_router
from conveyor.web.plugin_apps import mount_plugins
from conveyor.web.request_limits import PerAddressLimit
from conveyor.web.schemas import InvalidRequest
from conveyor.web.security import secret_key
from conveyor.web.transaction import CommitWithResponse

log = logging.getLogger(__name__)

SESSION_COOKIE = "conveyor_session"
SESSION_MAX_AGE = 12 * 3600


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app for ``settings`` (resolved); ``store`` defaults to one on ``database_url``."""
    settings = settings.resolved()
    app = FastAPI(
        title="Conveyor",
        version=__version__,
        description="Conveyor's REST API: DAGs, runs, task instances, logs, workers.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by conveyor.web.docs_page, from local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store or Store(settings.db_url)
    # A task instance or run a person marks here tells the plugins' listeners and
    # OpenLineage, as Airflow's API server does (the plugins only with web_plugins).
    run_listeners.start_for_marks(settings, app.state.store, plugins=settings.web_plugins)
    # What a request makes is counted as Airflow's API server counts it: a triggered run's
    # instances and deadlines, a posted asset event (statsd_on, otel_on; docs/metrics.md).
    emit.configure(settings)
    # Middlewares run outermost last-added: headers and the body cap see every request; the
    # request's transaction commits inside them, once the app's handlers set the status.
    # The audit trail records each action inside the transaction that commits it.
    app.add_middleware(AuditTrail, state=app.state)
    app.add_middleware(CommitWithResponse, state=app.state)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        path=settings.base_url or "/",
        same_site="lax",
        https_only=False,  # SecurityHeaders adds Secure on HTTPS requests (or always)
    )
    app.add_middleware(JsonDepthLimit)  # inside the body cap: reads only capped bodies
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    # Outside the rest: a request over its address's limit costs no session, store or thread.
    app.add_middleware(
        PerAddressLimit,
        max_requests=settings.max_requests_per_address,
        max_expensive=settings.max_expensive_requests_per_address,
    )
    _outermost(
        app,
        SecurityHeaders,
        always_secure=settings.secure_cookies,
        form_targets=oidc_form_targets(settings),
    )
    _add_error_handlers(app)
    app.include_router(health_router)
    app.include_router(login_router)
    app.include_router(oidc_login_router)
    app.include_router(api_router, prefix=API_PREFIX)
    # Airflow 3's public API, as Airflow's clients call it: its token endpoint, then /api/v2.
    app.include_router(token_router)
    app.mount(AIRFLOW_API_PREFIX, airflow_api(app.state))
    app.include_router(docs_router(API_PREFIX))
    # Airflow 2's stable API beside Conveyor's own /api/v1 (docs/api.md, "Airflow 2
    # callers"): first for basic-auth requests, last for the paths Conveyor's does not have.
    airflow2 = airflow2_api(app.state)
    app.router.routes.insert(0, BasicAuthMount(API_PREFIX, app=airflow2))
    app.router.routes.append(OwnPathsMount(API_PREFIX, app=airflow2))
    _mount_optional(app, settings, "conveyor.metrics", "mount_metrics")
    # The plugins' FastAPI apps, middlewares and menu links (setting web_plugins).
    app.state.external_views = mount_plugins(app, settings)
    _mount_optional(app, settings, "conveyor.web.ui", "mount_ui")
    _api_only_openapi(app)
    if settings.base_url:
        app.add_middleware(_PathPrefix, prefix=settings.base_url)
    return app


def _outermost(app: FastAPI, middleware: Any, **options: Any) -> None:
    """Wrap ``middleware`` around the whole stack, outside even the framework's handler of
    unexpected errors, so that its 500 answers pass through it too."""
    build = app.build_middleware_stack

    def build_wrapped() -> Any:
        return middleware(build(), **options)

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]


class _PathPrefix:
    """Sets the ASGI ``root_path`` to ``base_url`` unless the server already did.

    Starlette then routes ``/conveyor/x`` and ``/x`` alike (a proxy may strip the prefix or
    not), and ``url_for`` and the OpenAPI ``servers`` carry the prefix.
    """

    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            scope = dict(scope, root_path=self.prefix)
        await self.app(scope, receive, send)


def _mount_optional(app: FastAPI, settings: Settings, module: str, function: str) -> None:
    """Call ``module.function(app, settings)`` when another part of Conveyor provides it."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        mount = getattr(importlib.import_module(module), function, None)
        if mount is not None:
            mount(app, settings)


def _api_only_openapi(app: FastAPI) -> None:
    """The OpenAPI document describes the JSON API only, not the pages."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document["paths"] = {
                path: item
                for path, item in document.get("paths", {}).items()
                if path.startswith(API_PREFIX + "/")
            }
            # Errors are {"detail": "<reason>"} here, not the framework's list of errors.
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components["HTTPValidationError"] = InvalidRequest.model_json_schema()
            components.pop("ValidationError", None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(login_url(request, exc.next_path), status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable reason ("where: what"), plus the details for programs.
        reasons = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            reasons.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422, content={"detail": "; ".join(reasons), "errors": errors}
        )

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(IllegalMove)
    async def illegal_move(request: Request, exc: IllegalMove) -> JSONResponse:
        # A bug, not the request's fault: a 500, but one that says which move was refused
        # (states and a move's name only), and the traceback in the web process's log.
        log.error("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": str(exc)})

    for error in STORE_CONFLICT:
        app.add_exception_handler(error, _store_conflict)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )


async def _store_conflict(request: Request, exc: Exception) -> JSONResponse:
    """The store refused a write: a value it cannot hold (e.g. a NUL character, 400: the
    input's fault, not ours) or a row that breaks a constraint (409)."""
    if isinstance(exc, STORE_BAD_VALUE):
        return JSONResponse(status_code=400, content={"detail": "a value the store cannot hold"})
    return JSONResponse(status_code=409, content={"detail": "conflicts with existing data"})
