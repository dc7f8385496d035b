"""``/api/v2/plugins`` and ``/plugins/importErrors``: the plugins folder's ``AirflowPlugin``
classes, read from their source text, as the Plugins page reads them.

The answer never depends on importing users' code (a plugin module may do anything at
import; the web server imports the folder only to serve its plugins' apps, with the setting
``web_plugins``, and the processes that parse and run DAGs import it too). So a plugin is
what its class declares in the source: its name and the items of each list as written. Lists
Airflow answers as objects (FastAPI apps, views, menu items...) are answered empty; the
Plugins page shows them as written. The import errors are the files that cannot be read as
Python, the modules that failed when the web server imported the folder (``web_plugins``),
and the plugins that declare what Conveyor refuses (executors, priority weight strategies),
which fail their import where DAGs are parsed. Plugins name users' code and paths: ops and
admins read them, as the Plugins page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from pydantic import BaseModel

from conveyor.airflow_compat.plugin_listing import PluginListing, list_plugins
from conveyor.web.airflow_api.common import Limit, Offset, Operator
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_settings

router = APIRouter(tags=["Plugin"])

#: How a plugin's file is named, as Airflow names it: below the plugins folder.
FOLDER = "$PLUGINS_FOLDER"


class PluginResponse(BaseModel):
    name: str
    macros: list[str]
    flask_blueprints: list[str]
    fastapi_apps: list[dict[str, str]]
    fastapi_root_middlewares: list[dict[str, str]]
    external_views: list[dict[str, str]]
    react_apps: list[dict[str, str]]
    appbuilder_views: list[dict[str, str]]
    appbuilder_menu_items: list[dict[str, str]]
    global_operator_extra_links: list[str]
    operator_extra_links: list[str]
    source: str
    listeners: list[str]
    timetables: list[str]


class PluginCollectionResponse(BaseModel):
    plugins: list[PluginResponse]
    total_entries: int


class PluginImportErrorResponse(BaseModel):
    source: str
    error: str


class PluginImportErrorCollectionResponse(BaseModel):
    import_errors: list[PluginImportErrorResponse]
    total_entries: int


def _source(folder: Path, module: str) -> str:
    relative = Path(*module.split("."))
    if (folder / relative / "__init__.py").is_file():
        relative = relative / "__init__.py"
    else:
        relative = relative.with_suffix(".py")
    return f"{FOLDER}/{relative.as_posix()}"


def _response(folder: Path, plugin: PluginListing) -> PluginResponse:
    lists = plugin.lists
    return PluginResponse(
        name=plugin.name,
        macros=lists.get("macros", []),
        flask_blueprints=lists.get("flask_blueprints", []),
        fastapi_apps=[],
        fastapi_root_middlewares=[],
        external_views=[],
        react_apps=[],
        appbuilder_views=[],
        appbuilder_menu_items=[],
        global_operator_extra_links=lists.get("global_operator_extra_links", []),
        operator_extra_links=lists.get("operator_extra_links", []),
        source=_source(folder, plugin.module),
        listeners=lists.get("listeners", []),
        timetables=lists.get("timetables", []),
    )


@router.get(
    "/plugins",
    openapi_extra=differs(
        "read from the plugins' source text, never imported; lists of objects (apps, "
        "views, menu items) are empty; ops and admins only"
    ),
)
def get_plugins(
    request: Request, user: Operator, limit: Limit = 50, offset: Offset = 0
) -> PluginCollectionResponse:
    """The plugins by name."""
    folder = get_settings(request).plugins_path
    found, _errors = list_plugins(folder)
    plugins = [_response(folder, p) for p in found]
    return PluginCollectionResponse(
        plugins=plugins[offset : offset + limit], total_entries=len(plugins)
    )


@router.get(
    "/plugins/importErrors",
    operation_id="import_errors",
    openapi_extra=differs(
        "files that are not valid Python, and plugins declaring what Conveyor refuses; "
        "ops and admins only"
    ),
)
def get_plugin_import_errors(
    request: Request, user: Operator
) -> PluginImportErrorCollectionResponse:
    folder = get_settings(request).plugins_path
    found, unreadable = list_plugins(folder)
    errors = []
    for message in unreadable:
        module, _, error = message.partition(": ")
        errors.append(PluginImportErrorResponse(source=_source(folder, module), error=error))
    # The modules that failed when this web server imported the folder at its start (setting
    # web_plugins): what reading the source cannot see (a missing library, an exception).
    listed = {e.source for e in errors}
    for message in getattr(request.app.state, "plugin_import_errors", []):
        module, _, error = message.partition(" failed: ")
        source = _source(folder, module)
        if source not in listed:
            errors.append(PluginImportErrorResponse(source=source, error=error))
    for plugin in found:
        for key, instead in plugin.refused.items():
            errors.append(
                PluginImportErrorResponse(
                    source=_source(folder, plugin.module),
                    error=f"plugin {plugin.name!r} declares {key}, which Conveyor refuses: "
                    f"{instead}",
                )
            )
    return PluginImportErrorCollectionResponse(import_errors=errors, total_entries=len(errors))
