"""Airflow plugins: ``AirflowPlugin`` classes in the plugins folder, and what they register.

The plugins folder (the setting ``plugins_folder``) is on ``sys.path`` while a DAG file is
parsed or its try runs (``loading.namespaces`` tells this module which folder is entered), so
``from my_plugin import MyOperator`` works as in Airflow 2. Airflow 1.10's names work too: a
DAG file importing ``airflow.operators.my_plugin`` (``hooks``, ``sensors``, ``macros``) makes
this module import every module of the plugins folder, find the ``AirflowPlugin`` subclass
named ``my_plugin`` and build the module from the plugin's list. Those modules belong to the
entered namespace (a DAG version's plugins, shipped with it) and are let go when it is left.

What a plugin declares that Conveyor does not do is never silently dropped: keys that only
change Airflow's web UI are logged as not shown; keys that would change what runs
(``executors``, ``priority_weight_strategies``) fail the import with what to write instead.
``listeners`` are registered when a process starts (``airflow_compat/listeners.py``).
``timetables`` need nothing: Conveyor imports a timetable class by its module.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import types
from typing import Any, ClassVar

from conveyor.airflow_compat import ignore
from conveyor.model import templating

log = logging.getLogger(__name__)

#: ``airflow.<kind>.<plugin name>`` modules a plugin's lists make (Airflow 1.10's names).
KINDS = ("operators", "hooks", "sensors", "macros")

#: Keys that change only Airflow's web UI: not shown by Conveyor's, said so in the log.
UI_KEYS = (
    "flask_blueprints",
    "appbuilder_views",
    "appbuilder_menu_items",
    "admin_views",
    "menu_links",
    "react_apps",
)

#: Keys that would change what runs, refused with what to write instead.
REFUSED_KEYS = {
    "executors": "Conveyor runs tries on its own executors: set executor = 'local' or 'celery'",
    "priority_weight_strategies": "give the tasks a priority_weight and a weight_rule of "
    "'downstream', 'upstream' or 'absolute' instead",
}


class PluginError(ImportError):
    """A plugin that cannot be loaded, or declares what Conveyor refuses."""


class AirflowPlugin:
    """Airflow's plugin class: subclass it in a module of the plugins folder."""

    name: ClassVar[str] = ""
    operators: ClassVar[list[Any]] = []
    sensors: ClassVar[list[Any]] = []
    hooks: ClassVar[list[Any]] = []
    macros: ClassVar[list[Any]] = []
    timetables: ClassVar[list[Any]] = []
    executors: ClassVar[list[Any]] = []
    listeners: ClassVar[list[Any]] = []
    priority_weight_strategies: ClassVar[list[Any]] = []
    flask_blueprints: ClassVar[list[Any]] = []
    appbuilder_views: ClassVar[list[Any]] = []
    appbuilder_menu_items: ClassVar[list[Any]] = []
    admin_views: ClassVar[list[Any]] = []
    menu_links: ClassVar[list[Any]] = []
    fastapi_apps: ClassVar[list[Any]] = []
    fastapi_root_middlewares: ClassVar[list[Any]] = []
    external_views: ClassVar[list[Any]] = []
    react_apps: ClassVar[list[Any]] = []
    global_operator_extra_links: ClassVar[list[Any]] = []
    operator_extra_links: ClassVar[list[Any]] = []

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        """Called once when the plugin is loaded, as in Airflow."""

    @classmethod
    def validate(cls) -> None:
        if not cls.name:
            raise PluginError(f"plugin class {cls.__qualname__} needs a name (name = '...')")


_folder: str | None = None  # the entered namespace's plugins folder
_made: list[str] = []  # airflow.<kind>.<plugin> modules made while it is entered
_checked: set[type[AirflowPlugin]] = set()


def enter(folder: str | None) -> None:
    """The plugins folder of the namespace being entered (None: it has none)."""
    global _folder
    _folder = folder


def leave() -> None:
    """Let go of the ``airflow.<kind>.<plugin>`` modules made for the namespace left."""
    global _folder
    _folder = None
    while _made:
        name = _made.pop()
        module = sys.modules.pop(name, None)
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name)
        if parent is not None and module is not None and parent.__dict__.get(child) is module:
            del parent.__dict__[child]


def made() -> tuple[str, ...]:
    """The ``airflow.<kind>.<plugin>`` modules made for the namespace entered, each with the
    characters that may follow it in a message (``.`` or a space)."""
    return tuple(f"{name}{after}" for name in _made for after in (".", " "))


def is_kind(fullname: str) -> bool:
    """Whether ``fullname`` is one of the packages plugins register below (``airflow.macros``)."""
    return fullname in {f"airflow.{kind}" for kind in KINDS}


def wanted(fullname: str) -> tuple[str, str] | None:
    """(kind, plugin name) of an ``airflow.<kind>.<plugin name>`` module name, else None."""
    parts = fullname.split(".")
    if len(parts) == 3 and parts[0] == "airflow" and parts[1] in KINDS:
        return parts[1], parts[2]
    return None


def fill(module: types.ModuleType) -> bool:
    """Give ``airflow.<kind>.<plugin>`` the plugin's list; False if no such plugin."""
    found = wanted(module.__name__)
    if found is None or _folder is None:
        return False
    kind, name = found
    plugins, errors = load_folder(_folder)
    plugin = plugins.get(name)
    if plugin is None:
        if errors:
            raise PluginError(
                f"no plugin named {name!r} was loaded from {_folder}, where " + "; ".join(errors),
                name=module.__name__,
            )
        return False
    for item in getattr(plugin, kind) or []:
        item_name = getattr(item, "__name__", None)
        if item_name is None:  # Airflow 1.10 also took a module of macros
            raise PluginError(f"plugin {name!r}: {kind} lists {item!r}, which has no name")
        setattr(module, item_name, item)
    _made.append(module.__name__)
    return True


def macros_of(name: str) -> types.ModuleType | None:
    """``{{ macros.<name> }}``: the macros of plugin ``name`` in the entered namespace's
    plugins folder, as the module ``airflow.macros.<name>`` holds them; None if no plugin
    has that name (PluginError names the plugin files that failed to import)."""
    if _folder is None:
        return None
    plugins, errors = load_folder(_folder)
    plugin = plugins.get(name)
    if plugin is None:
        if errors:
            raise PluginError(f"no plugin named {name!r} in {_folder}: " + "; ".join(errors))
        return None
    module = types.ModuleType(f"airflow.macros.{name}")
    for item in plugin.macros or []:
        item_name = getattr(item, "__name__", None)
        if item_name is None:
            raise PluginError(f"plugin {name!r}: macros lists {item!r}, which has no name")
        setattr(module, item_name, item)
    return module


def preload(folder: str) -> None:
    """Import every module of the plugins folder while a DAG file is parsed, as Airflow
    loads every plugin: so a plugin only a template names (``macros.<plugin>``) is shipped
    with the DAG's version. A module that fails is left for the DAG that asks for its
    plugin to report (``fill``, ``macros_of``)."""
    for module_name in module_names(folder):
        try:
            importlib.import_module(module_name)
        except Exception as exc:  # reported where a DAG asks for the plugin
            log.debug("plugin module %s failed to import: %s", module_name, exc)


templating.set_plugin_macros(macros_of)


def load_folder(folder: str) -> tuple[dict[str, type[AirflowPlugin]], list[str]]:
    """The plugins the modules of ``folder`` define, by name, with the modules that failed
    to import (as messages). The modules are imported by name, from ``sys.path``."""
    plugins: dict[str, type[AirflowPlugin]] = {}
    errors: list[str] = []
    for module_name in module_names(folder):
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # one broken plugin file must not hide the others
            errors.append(f"{module_name} failed: {type(exc).__name__}: {exc}")
            continue
        for value in list(vars(module).values()):
            if (
                inspect.isclass(value)
                and issubclass(value, AirflowPlugin)
                and value is not AirflowPlugin
            ):
                try:
                    check(value)
                except PluginError as exc:  # refused: listed with the files that failed
                    errors.append(f"{module_name} failed: {exc}")
                    continue
                plugins[value.name] = value
    return plugins, errors


def load_at_start(folder: str) -> tuple[dict[str, type[AirflowPlugin]], list[str]]:
    """The plugins of ``folder`` as a process loads them when it starts (the folder on
    ``sys.path`` while they import), with the modules that failed. ``import airflow...``
    resolves to Conveyor in them unless the setting ``airflow_compat`` is off, as in a DAG
    file."""
    from conveyor.airflow_compat import activate  # the package imports this module

    activate()
    added = folder not in sys.path
    if added:
        sys.path.append(folder)
    try:
        return load_folder(folder)
    finally:
        if added:
            sys.path.remove(folder)


def check(plugin: type[AirflowPlugin]) -> None:
    """Validate a plugin once: refuse what would change what runs, log what is not shown."""
    plugin.validate()
    for key, instead in REFUSED_KEYS.items():
        if getattr(plugin, key, None):
            raise PluginError(
                f"plugin {plugin.name!r} declares {key}, which Conveyor does not run: {instead}"
            )
    if plugin in _checked:
        return
    _checked.add(plugin)
    shown = [key for key in UI_KEYS if getattr(plugin, key, None)]
    if shown:
        log.warning(
            "plugin %r: %s change Airflow's web UI and are not shown by Conveyor's",
            plugin.name,
            ", ".join(shown),
        )
    plugin.on_load()


def module_names(folder: str) -> list[str]:
    """The importable names of the Python modules under ``folder`` (a folder without
    ``__init__.py`` is a namespace package), hidden and ``__pycache__`` folders and what its
    ``.airflowignore`` files ignore skipped, as Airflow lists the plugins folder."""
    syntax = ignore.configured_syntax()
    names: list[str] = []
    inherited: dict[str, tuple[ignore.Rule, ...]] = {folder: ()}
    for current, dirs, files in os.walk(folder):
        rules = inherited.get(current, ()) + ignore.read_rules(current, folder, syntax)
        dirs[:] = sorted(
            d
            for d in dirs
            if d.isidentifier()
            and not d.startswith("_")
            and not ignore.is_ignored(os.path.join(current, d), True, rules)
        )
        inherited.update({os.path.join(current, d): rules for d in dirs})
        rel = os.path.relpath(current, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, ".") + "."
        for filename in sorted(files):
            stem, dot, suffix = filename.rpartition(".")
            if suffix != "py" or not dot or not stem.isidentifier():
                continue
            if rules and ignore.is_ignored(os.path.join(current, filename), False, rules):
                continue
            if stem == "__init__":
                if prefix:
                    names.append(prefix[:-1])
            else:
                names.append(prefix + stem)
    return names
