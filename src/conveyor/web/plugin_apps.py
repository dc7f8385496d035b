"""What plugins add to the web server, as Airflow's API server adds it: each plugin's
``fastapi_apps`` mounted at their ``url_prefix``, its ``fastapi_root_middlewares`` around
the whole app, and its ``external_views`` as links in the menu.

Only with the setting ``web_plugins`` (on by default, as Airflow's API server loads the
plugins folder): the web server then imports the plugins folder once, at start, and runs
its code (docs/security.md). What only Airflow's Flask UI can show (``flask_blueprints``,
``appbuilder_views``, ...) is logged as a warning naming the plugin when it is loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount

from conveyor.airflow_compat import plugins
from conveyor.config import Settings

log = logging.getLogger(__name__)

#: Prefixes Conveyor's own pages and APIs answer under: a plugin's app may not take them.
RESERVED = ("/api", "/auth", "/static", "/login", "/logout", "/health", "/metrics", "/ui")


@dataclass(frozen=True)
class ExternalView:
    """A link a plugin adds to the menu."""

    name: str
    href: str
    category: str | None


def mount_plugins(app: FastAPI, settings: Settings) -> list[ExternalView]:
    """Mount the plugins' apps and middlewares on ``app``; the menu links they add. The
    modules that failed to import are kept in ``app.state.plugin_import_errors`` for
    ``/api/v2/plugins/importErrors``."""
    app.state.plugin_import_errors = []
    if not settings.web_plugins or not settings.plugins_path.is_dir():
        return []
    found, errors = plugins.load_at_start(str(settings.plugins_path))
    app.state.plugin_import_errors = errors
    for message in errors:
        log.error("plugin module of %s not loaded: %s", settings.plugins_path, message)
    views: list[ExternalView] = []
    for name, plugin in sorted(found.items()):
        for entry in plugin.fastapi_apps or []:
            _guarded(name, "fastapi_apps", entry, lambda e: _mount(app, e))
        for entry in plugin.fastapi_root_middlewares or []:
            _guarded(name, "fastapi_root_middlewares", entry, lambda e: _middleware(app, e))
        for entry in plugin.external_views or []:
            _guarded(name, "external_views", entry, lambda e: views.append(_view(e)))
    return views


def _guarded(plugin: str, key: str, entry: Any, add: Any) -> None:
    """One entry of a plugin's list; a malformed one is logged naming the plugin and left
    out, and the web server starts with the others."""
    try:
        add(entry)
    except (KeyError, TypeError, ValueError) as exc:
        log.error("plugin %r: an entry of %s was left out (%s): %r", plugin, key, exc, entry)


def _mount(app: FastAPI, entry: dict[str, Any]) -> None:
    prefix = str(entry["url_prefix"]).rstrip("/")
    if not prefix.startswith("/") or prefix in ("", "/"):
        raise ValueError(f"url_prefix {entry['url_prefix']!r} must be a path below /")
    if any(prefix == taken or prefix.startswith(taken + "/") for taken in RESERVED):
        raise ValueError(f"url_prefix {prefix!r} is Conveyor's own")
    # First: Conveyor's pages answer unknown paths with their own 404 page.
    app.router.routes.insert(0, Mount(prefix, app=entry["app"], name=entry.get("name")))


def _middleware(app: FastAPI, entry: dict[str, Any]) -> None:
    app.add_middleware(entry["middleware"], *entry.get("args", []), **entry.get("kwargs", {}))


def _view(entry: dict[str, Any]) -> ExternalView:
    href = str(entry["href"])
    if not href.startswith(("https://", "http://", "/")):
        raise ValueError(f"href {href!r} is not an http(s) URL or a path")
    return ExternalView(str(entry["name"]), href, entry.get("category"))
