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

from fastapi import Depends, HTTPException, Query, Request

from conveyor.clock import utcnow
from conveyor.connections import repository
from conveyor.exceptions import ConfigError
from conveyor.providers import registry
from conveyor.states import RUN_FINISHED
from conveyor.store import audit, figures
from conveyor.store import roles as role_rows
from conveyor.web import queries, roles
from conveyor.web.dag_access import audit_dag_ids, cluster_reader, hidden_folder
from conveyor.web.dag_list import DagQuery
from conveyor.web.deps import get_settings, get_store
from conveyor.web.ui.page import (
    DAG_READER,
    PageResult,
    Pages,
    PageUser,
    admin_tab,
    nav_entry,
    refused,
)

pages = Pages()
router = pages.router
nav_entry("Home", "/home", order=10, role=DAG_READER)
nav_entry(
    "Admin", "/admin/connections", order=70, keys=("admin", "audit"), role="op",
    otherwise=(None, "/admin/pools"),
)  # fmt: skip
T = TypeVar("T")
AUDIT_PAGE = 50


def _listed(read: Callable[[], T]) -> tuple[T | None, str | None]:
    """What ``read`` lists and no error, or None and the error when the configuration it
    reads (the environment, a secrets backend) is broken: the page shows the error."""
    try:
        return read(), None
    except ConfigError as exc:
        return None, str(exc)


def connection_form() -> dict[str, Any]:
    """The connection form's types and, for each, its labels, placeholders, hidden fields
    and extra keys: what each provider declares (``providers/discovery.py``)."""
    types = registry.connection_types()
    return {
        "conn_types": list(types),
        "conn_forms": {name: kind.form() for name, kind in types.items()},
    }


admin_tab("Connections", "/admin/connections", order=10, role="op")


@pages.page("/admin/connections", "admin_connections.html", nav="admin", role="op")
def connections_page(request: Request, user: PageUser) -> PageResult:
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
    return {"rows": rows, "error": error, **connection_form()}


admin_tab("Variables", "/admin/variables", order=20, role="op")


@pages.page("/admin/variables", "admin_variables.html", nav="admin", role="op")
def variables_page(request: Request, user: PageUser) -> PageResult:
    found, error = _listed(
        lambda: repository.list_variables(get_store(request), get_settings(request))
    )
    rows = queries.list_variables(found or [], reveal=False).model_dump()["variables"]
    return {"rows": rows, "error": error}


admin_tab("Pools", "/admin/pools", order=30)


@pages.page("/admin/pools", "admin_pools.html", nav="admin")
def pools_page(request: Request, user: PageUser) -> PageResult:
    with get_store(request).read() as conn:
        rows = queries.list_pools(conn).model_dump()["pools"]
    return {"rows": rows}


admin_tab("Users", "/admin/users", order=40, role="admin")


@pages.page("/admin/users", "admin_users.html", nav="admin", role="admin")
def users_page(request: Request, user: PageUser) -> PageResult:
    with get_store(request).read() as conn:
        rows = queries.list_users(conn).model_dump()["users"]
        named = [r.name for r in role_rows.list_roles(conn)]
    return {"rows": rows, "named_roles": named}


admin_tab("Roles", "/admin/roles", order=50, role="admin")


@pages.page("/admin/roles", "admin_roles.html", nav="admin", role="admin")
def roles_page(request: Request, user: PageUser) -> PageResult:
    store = get_store(request)
    with store.read() as conn:
        granted = role_rows.access_control_grants(conn)
    rows = [
        {
            "name": r.name,
            "users": r.users,
            "permissions": [{"action": a, "resource": res} for a, res in r.permissions],
            # What DAG files grant it: changed in the file, not here.
            "dag_grants": [{"dag_id": d, "actions": a} for d, a in granted.get(r.name, [])],
        }
        for r in roles.list_roles(store)
    ]
    return {"rows": rows}


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


# The tab is for ops and admins; the page itself decides what anyone else may read.
admin_tab("Audit log", "/audit", order=90, role="op")


@pages.page("/audit", "audit.html", nav="audit")
def audit_page(
    request: Request,
    user: PageUser,
    shown: Annotated[AuditFilters, Depends()],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> PageResult:
    """The audit log with its filters in the URL, so a filtered view can be shared."""
    try:
        dag_ids = audit_dag_ids(request, user)
    except HTTPException:  # below op, without named roles
        refusal = refused(request, user, "op")
        assert refusal is not None
        return refusal
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
    page_count = max(1, -(-total // AUDIT_PAGE))
    link = {
        "prev": "?" + urlencode({**kept, "page": page - 1}) if page > 1 else None,
        "next": "?" + urlencode({**kept, "page": page + 1}) if page < page_count else None,
    }
    return {
        "entries": entries, "total": total, "page": page, "pages": page_count, "link": link,
        "filters": filters, "actions": actions, "bad_day": bool(shown.day) and chosen is None,
    }  # fmt: skip


def _last_finished(recent: list[dict[str, Any]]) -> str | None:
    """The state of the newest finished run of these (newest first), if any."""
    return next((r["state"] for r in recent if r["state"] in RUN_FINISHED), None)


@pages.page("/home", "home.html", nav="home")
def home_page(request: Request, user: PageUser) -> PageResult:
    """What needs attention: failing DAGs, files that fail to load, the cluster's health,
    pools, and the last day's runs; of a user who may read only some DAGs, those DAGs'
    (their failing runs, their files' errors, their problems, their runs counted)."""
    readable = cluster_reader(request, user)
    beat = get_settings(request).heartbeat_seconds
    since = utcnow() - timedelta(hours=24)
    with get_store(request).read() as conn:
        dags = queries.list_dags(conn, DagQuery(dag_ids=readable)).model_dump(mode="json")["dags"]
        errors = queries.list_import_errors(
            conn, readable, hidden_folder(request, user)
        ).model_dump(mode="json")["import_errors"]
        problems = queries.list_scheduler_problems(conn, readable=readable).model_dump(mode="json")[
            "problems"
        ]
        schedulers = queries.list_schedulers(conn, beat).model_dump(mode="json")["schedulers"]
        workers = queries.list_workers(conn, beat).model_dump(mode="json")["workers"]
        triggerers = queries.list_triggerers(conn, beat).model_dump(mode="json")["triggerers"]
        pools = queries.list_pools(conn).model_dump()["pools"]
        counts = figures.runs_by_state_since(conn, since, readable)
    failing = [d for d in dags if _last_finished(d["recent_runs"]) == "failed"]
    return {
        "failing": failing, "errors": errors, "problems": problems, "schedulers": schedulers,
        "workers": workers, "triggerers": triggerers, "pools": pools, "counts": counts,
        "total_runs": sum(counts.values()),
    }  # fmt: skip
