"""The admin's system pages: the effective configuration, the providers Conveyor ships and
the plugins folder's ``AirflowPlugin`` classes.

Config is for admins only and masks every secret (keys, passwords in URLs), as
``conveyor config show`` does. Providers and Plugins are read from Conveyor's own tables
and from the plugins' source text: no page imports a provider's library or a user's file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from conveyor.airflow_compat.plugin_listing import USED_KEYS, list_plugins
from conveyor.airflow_compat.table import MODULES
from conveyor.airflow_compat.table_providers import EXTRAS, PROVIDERS
from conveyor.config import Settings, load_config, mask
from conveyor.exceptions import ConfigError
from conveyor.providers.registry import HOOKS, OTHER_HOOKS
from conveyor.web.auth import User, page_user
from conveyor.web.deps import get_settings
from conveyor.web.ui.rendering import Renderer

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(page_user)]

#: A URL's password, in any setting (a remote logs URL may carry one too).
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@]+):[^@/]+@")


def _page(request: Request, name: str, user: User, status: int = 200, **context: Any) -> Response:
    renderer: Renderer = request.app.state.ui
    return renderer.render(request, name, {"user": user, **context}, status_code=status)


def _refused(request: Request, user: User, role: str) -> Response | None:
    if user.can(role):
        return None
    message = f"This page needs the {role!r} role; you are {user.role!r}."
    return _page(request, "refused.html", user, 403, message=message)


def masked(key: str, value: Any) -> str:
    """The setting as the page shows it: keys hidden, a URL's password replaced by ***."""
    text = mask(key, value)
    return _URL_PASSWORD.sub(r"\1:***@", text)


def config_rows(settings: Settings) -> list[dict[str, str]]:
    """Each setting of the running server, its shown value, and where it came from (the
    configuration file, an environment variable, or the default)."""
    try:
        sources = load_config().sources
    except ConfigError:
        sources = {}
    return [
        {
            "key": key,
            "value": masked(key, value),
            "source": sources.get(key, "default"),
            "description": info.description or "",
        }
        for key, info in Settings.model_fields.items()
        for value in [getattr(settings, key)]
    ]


@dataclass
class ProviderListing:
    name: str
    extra: str | None
    conn_types: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)


@cache
def provider_rows() -> list[ProviderListing]:
    """Each provider Conveyor ships (Airflow's name), its install extra, the connection
    types whose hook it holds, and its hooks, operators, sensors and other names."""
    by_target: dict[str, list[str]] = {}
    for conn_type, target in {**HOOKS, **OTHER_HOOKS}.items():
        by_target.setdefault(target, []).append(conn_type)
    rows = []
    for provider, modules in PROVIDERS.items():
        row = ProviderListing(provider, EXTRAS.get(provider))
        targets = sorted({t for m in modules for t in MODULES[m].values()})
        for target in targets:
            row.conn_types.extend(by_target.get(target, []))
            name = target.rpartition(":")[2]
            _bucket(row, name).append(name)
        row.conn_types = sorted(set(row.conn_types))
        rows.append(row)
    return sorted(rows, key=lambda r: r.name)


def _bucket(row: ProviderListing, name: str) -> list[str]:
    if name.endswith("Hook"):
        return row.hooks
    if name.endswith("Operator"):
        return row.operators
    if name.endswith("Sensor"):
        return row.sensors
    return row.others


@router.get("/admin/config", response_class=HTMLResponse)
def config_page(request: Request, user: PageUser) -> Response:
    if refused := _refused(request, user, "admin"):
        return refused
    rows = config_rows(get_settings(request))
    return _page(request, "admin_config.html", user, nav="admin", rows=rows)


@router.get("/admin/providers", response_class=HTMLResponse)
def providers_page(request: Request, user: PageUser) -> Response:
    return _page(request, "admin_providers.html", user, nav="admin", rows=provider_rows())


@router.get("/admin/plugins", response_class=HTMLResponse)
def plugins_page(request: Request, user: PageUser) -> Response:
    if refused := _refused(request, user, "op"):  # paths and names of users' code
        return refused
    folder = get_settings(request).plugins_path
    found, errors = list_plugins(folder)
    return _page(
        request, "admin_plugins.html", user, nav="admin", rows=found, errors=errors,
        folder=str(folder), used_keys=USED_KEYS,
    )  # fmt: skip
