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
from typing import Any

from fastapi import Request

from conveyor.airflow_compat import installed_providers
from conveyor.airflow_compat.plugin_listing import USED_KEYS, list_plugins
from conveyor.airflow_compat.table_providers import listed_providers
from conveyor.config import Settings, load_config, mask
from conveyor.exceptions import ConfigError
from conveyor.web.deps import get_settings
from conveyor.web.ui.page import PageResult, Pages, PageUser, admin_tab

pages = Pages()
router = pages.router

#: A URL's password, in any setting (a remote logs URL may carry one too).
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@]+):[^@/]+@")


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
    types whose hook it holds, and its hooks, operators, sensors and other names: what its
    declaration says (``providers/discovery.py``)."""
    rows = []
    for provider in listed_providers().values():
        row = ProviderListing(provider.name, provider.extra)
        row.conn_types = sorted(n for kind in provider.connection_types for n in kind.names)
        for target in provider.objects():
            name = target.rpartition(":")[2]
            _bucket(row, name).append(name)
        rows.append(row)
    return rows


def _bucket(row: ProviderListing, name: str) -> list[str]:
    if name.endswith("Hook"):
        return row.hooks
    if name.endswith("Operator"):
        return row.operators
    if name.endswith("Sensor"):
        return row.sensors
    return row.others


admin_tab("Config", "/admin/config", order=60, role="admin")


@pages.page("/admin/config", "admin_config.html", nav="admin", role="admin")
def config_page(request: Request, user: PageUser) -> PageResult:
    return {"rows": config_rows(get_settings(request))}


admin_tab("Providers", "/admin/providers", order=70)


@pages.page("/admin/providers", "admin_providers.html", nav="admin")
def providers_page(request: Request, user: PageUser) -> PageResult:
    return {"rows": provider_rows(), "installed": installed_providers.installed_packages()}


admin_tab("Plugins", "/admin/plugins", order=80, role="op")


# Paths and names of users' code: ops and admins only.
@pages.page("/admin/plugins", "admin_plugins.html", nav="admin", role="op")
def plugins_page(request: Request, user: PageUser) -> PageResult:
    folder = get_settings(request).plugins_path
    found, errors = list_plugins(folder)
    return {"rows": found, "errors": errors, "folder": str(folder), "used_keys": USED_KEYS}
