"""The admin pages (connections, variables, pools, users), the audit log and the home dashboard.

Each page renders what the store holds for its first paint; its forms and buttons call the
JSON API (``static/js/admin.js``), so the API's role checks are the only ones that count. A
page shows forms and buttons only to a role the API lets use them, and is refused (403) to a
role the API does not let read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from conveyor.clock import utcnow
from conveyor.connections import repository
from conveyor.exceptions import ConfigError
from conveyor.store import audit, figures
from conveyor.web import queries, roles
from conveyor.web.auth import User, page_user
from conveyor.web.dag_access import audit_dag_ids, cluster_reader
from conveyor.web.dag_list import DagQuery
from conveyor.web.deps import get_settings, get_store
from conveyor.web.ui.rendering import Renderer

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(page_user)]
T = TypeVar("T")

#: Connection types offered in the form (any other may be typed).
CONN_TYPES = (
    "postgresql", "mysql", "sqlite", "http", "https", "aws", "google_cloud_platform",
    "ssh", "sftp", "ftp", "smtp", "slack", "slackwebhook", "redis", "generic",
)  # fmt: skip
AUDIT_PAGE = 50


def _page(request: Request, name: str, user: User, status: int = 200, **context: Any) -> Response:
    renderer: Renderer = request.app.state.ui
    return renderer.render(request, name, {"user": user, **context}, status_code=status)


def _refused(request: Request, user: User, role: str) -> Response | None:
    """A 403 page when ``user`` may not read this page (the API would refuse them too)."""
    if user.can(role):
        return None
    message = f"This page needs the {role!r} role; you are {user.role!r}."
    return _page(request, "refused.html", user, 403, message=message)


def _listed(read: Callable[[], T]) -> tuple[T | None, str | None]:
    """What ``read`` lists and no error, or None and the error when the configuration it
    reads (the environment, a secrets backend) is broken: the page shows the error."""
    try:
        return read(), None
    except ConfigError as exc:
        return None, str(exc)


@router.get("/admin/connections", response_class=HTMLResponse)
def connections_page(request: Request, user: PageUser) -> Response:
    if refused := _refused(request, user, "op"):
        return refused
    store = get_store(request)
    listed, error = _listed(
        lambda: (
            repository.list_connections(store, get_settings(request)),
            repository.stored_connection_ids(store),
        )
    )
    found, stored = listed or ([], set())
    rows = [
        {
            **queries.connection_info(c, reveal=False).model_dump(by_alias=True),
            "stored": c.conn_id in stored,
        }
        for c in found
    ]
    return _page(
        request, "admin_connections.html", user, nav="admin", rows=rows, error=error,
        conn_types=CONN_TYPES,
    )  # fmt: skip


@router.get("/admin/variables", response_class=HTMLResponse)
def variables_page(request: Request, user: PageUser) -> Response:
    if refused := _refused(request, user, "op"):
        return refused
    found, error = _listed(
        lambda: repository.list_variables(get_store(request), get_settings(request))
    )
    rows = queries.list_variables(found or [], reveal=False).model_dump()["variables"]
    return _page(request, "admin_variables.html", user, nav="admin", rows=rows, error=error)


@router.get("/admin/pools", response_class=HTMLResponse)
def pools_page(request: Request, user: PageUser) -> Response:
    with get_store(request).read() as conn:
        rows = queries.list_pools(conn).model_dump()["pools"]
    return _page(request, "admin_pools.html", user, nav="admin", rows=rows)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: PageUser) -> Response:
    if refused := _refused(request, user, "admin"):
        return refused
    with get_store(request).read() as conn:
        rows = queries.list_users(conn).model_dump()["users"]
    return _page(request, "admin_users.html", user, nav="admin", rows=rows)


@router.get("/admin/roles", response_class=HTMLResponse)
def roles_page(request: Request, user: PageUser) -> Response:
    if refused := _refused(request, user, "admin"):
        return refused
    rows = [
        {
            "name": r.name,
            "users": r.users,
            "permissions": [{"action": a, "resource": res} for a, res in r.permissions],
        }
        for r in roles.list_roles(get_store(request))
    ]
    return _page(request, "admin_roles.html", user, nav="admin", rows=rows)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditFilters:
    """The audit log page's filters, as its URL's query gives them."""

    actor: Annotated[str, Query(max_length=200)] = ""
    action: Annotated[str, Query(max_length=100)] = ""
    dag_id: Annotated[str, Query(max_length=250)] = ""
    day: Annotated[str, Query(max_length=20, description="YYYY-MM-DD (UTC)")] = ""


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: PageUser,
    shown: Annotated[AuditFilters, Depends()],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The audit log with its filters in the URL, so a filtered view can be shared."""
    try:
        dag_ids = audit_dag_ids(request, user)
    except HTTPException:  # below op, without named roles
        refused = _refused(request, user, "op")
        assert refused is not None
        return refused
    chosen = _day(shown.day)
    since = datetime(chosen.year, chosen.month, chosen.day, tzinfo=UTC) if chosen else None
    wanted = audit.AuditFilter(
        shown.actor.strip() or None, shown.action.strip() or None, shown.dag_id.strip() or None,
        since, since + timedelta(days=1) if since else None, dag_ids,
    )  # fmt: skip
    with get_store(request).read() as conn:
        entries, total = audit.list_entries(conn, wanted, AUDIT_PAGE, (page - 1) * AUDIT_PAGE)
        actions = audit.known_actions(conn)
    filters = asdict(shown)
    kept = {k: v for k, v in filters.items() if v}
    pages = max(1, -(-total // AUDIT_PAGE))
    link = {
        "prev": "?" + urlencode({**kept, "page": page - 1}) if page > 1 else None,
        "next": "?" + urlencode({**kept, "page": page + 1}) if page < pages else None,
    }
    return _page(
        request, "audit.html", user, nav="audit", entries=entries, total=total, page=page,
        pages=pages, link=link, filters=filters, actions=actions,
        bad_day=bool(shown.day) and chosen is None,
    )  # fmt: skip


def _last_finished(recent: list[dict[str, Any]]) -> str | None:
    """The state of the newest finished run of these (newest first), if any."""
    return next((r["state"] for r in recent if r["state"] in ("success", "failed")), None)


@router.get("/home", response_class=HTMLResponse)
def home_page(request: Request, user: PageUser) -> Response:
    """What needs attention: failing DAGs, files that fail to load, the cluster's health,
    pools, and the last day's runs; of a user who may read only some DAGs, those DAGs'
    (their failing runs, their files' errors, their problems, their runs counted)."""
    readable = cluster_reader(request, user)
    beat = get_settings(request).heartbeat_seconds
    since = utcnow() - timedelta(hours=24)
    with get_store(request).read() as conn:
        dags = queries.list_dags(conn, DagQuery(dag_ids=readable)).model_dump(mode="json")["dags"]
        errors = queries.list_import_errors(conn, readable).model_dump(mode="json")["import_errors"]
        problems = queries.list_scheduler_problems(conn, readable=readable).model_dump(mode="json")[
            "problems"
        ]
        schedulers = queries.list_schedulers(conn, beat).model_dump(mode="json")["schedulers"]
        workers = queries.list_workers(conn, beat).model_dump(mode="json")["workers"]
        triggerers = queries.list_triggerers(conn, beat).model_dump(mode="json")["triggerers"]
        pools = queries.list_pools(conn).model_dump()["pools"]
        counts = figures.runs_by_state_since(conn, since, readable)
    failing = [d for d in dags if _last_finished(d["recent_runs"]) == "failed"]
    return _page(
        request, "home.html", user, nav="home", failing=failing, errors=errors,
        problems=problems, schedulers=schedulers, workers=workers, triggerers=triggerers,
        pools=pools,
        counts=counts, total_runs=sum(counts.values()),
    )  # fmt: skip
