"""Airflow's listeners: pluggy hooks a plugin's ``listeners`` (or
``get_listener_manager().add_listener(...)``) implement, called with Airflow's hook names and
arguments.

The hook specifications are Airflow 3's (``airflow.listeners.spec``): the process's
``on_starting`` / ``before_stopping``; a task instance's ``on_task_instance_running``,
``_success``, ``_failed``, ``_skipped`` (in the try's process); a DAG run's
``on_dag_run_running``, ``_success``, ``_failed``; an asset's ``on_asset_created``,
``on_asset_alias_created``, ``on_asset_changed``, ``on_asset_event_emitted``; and the DAG import
errors' ``on_new_dag_import_error``, ``on_existing_dag_import_error``.

Conveyor calls them through :func:`notify`, which calls each listener on its own: one that
raises is logged and the others, and what the caller was doing, go on.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

import pluggy

from conveyor.airflow_compat import extra_links, plugins

log = logging.getLogger(__name__)
#: A listener's own failure is the user's code failing: not under ``conveyor.``, so a try's
#: log shows it (the runner keeps Conveyor's own records in the process log).
listener_log = logging.getLogger("airflow.listeners")

#: Airflow's project name: a listener's ``@hookimpl`` marks its functions for it.
PROJECT = "airflow"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class LifecycleSpec:
    """A process's start and stop (``component``: what starts, as in Airflow)."""

    @staticmethod
    @hookspec
    def on_starting(component: Any) -> None:
        """Before the process does anything else."""

    @staticmethod
    @hookspec
    def before_stopping(component: Any) -> None:
        """After everything else the process did."""


class TaskInstanceSpec:
    """A try's moves, called in the try's process."""

    @staticmethod
    @hookspec
    def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
        """The try has started and is about to call its task."""

    @staticmethod
    @hookspec
    def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
        """The try succeeded (its outcome is committed)."""

    @staticmethod
    @hookspec
    def on_task_instance_failed(
        previous_state: Any, task_instance: Any, error: str | BaseException | None
    ) -> None:
        """The try failed, whether a retry follows or not."""

    @staticmethod
    @hookspec
    def on_task_instance_skipped(previous_state: Any, task_instance: Any) -> None:
        """The try skipped itself (AirflowSkipException)."""


class DagRunSpec:
    """A DAG run's moves, called by the process that committed them."""

    @staticmethod
    @hookspec
    def on_dag_run_running(dag_run: Any, msg: str) -> None:
        """The run started."""

    @staticmethod
    @hookspec
    def on_dag_run_success(dag_run: Any, msg: str) -> None:
        """The run succeeded."""

    @staticmethod
    @hookspec
    def on_dag_run_failed(dag_run: Any, msg: str) -> None:
        """The run failed."""


class AssetSpec:
    """Assets made and updated."""

    @staticmethod
    @hookspec
    def on_asset_created(asset: Any) -> None:
        """A new asset was recorded."""

    @staticmethod
    @hookspec
    def on_asset_alias_created(asset_alias: Any) -> None:
        """A new asset alias was recorded."""

    @staticmethod
    @hookspec
    def on_asset_changed(asset: Any) -> None:
        """An event of the asset was recorded."""

    @staticmethod
    @hookspec
    def on_asset_event_emitted(asset_event: Any) -> None:
        """The event itself (called with on_asset_changed)."""


class ImportErrorSpec:
    """DAG files that failed to import."""

    @staticmethod
    @hookspec
    def on_new_dag_import_error(filename: str, stacktrace: str) -> None:
        """A file that imported before (or is new) fails."""

    @staticmethod
    @hookspec
    def on_existing_dag_import_error(filename: str, stacktrace: str) -> None:
        """A file that failed still fails."""


@dataclasses.dataclass
class AssetEvent:
    """What ``on_asset_event_emitted`` is given (Airflow's ``airflow.listeners.types``)."""

    asset: Any
    extra: dict[str, Any]
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_map_index: int | None
    source_aliases: list[Any]
    partition_key: str | None = None
    partition_date: datetime | None = None


SPECS = (LifecycleSpec, TaskInstanceSpec, DagRunSpec, AssetSpec, ImportErrorSpec)


class ListenerManager:
    """Airflow's ``ListenerManager``: the listeners registered in this process."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        for spec in SPECS:
            self.pm.add_hookspecs(spec)

    def add_hookspecs(self, spec_module: Any) -> None:
        self.pm.add_hookspecs(spec_module)

    @property
    def has_listeners(self) -> bool:
        return bool(self.pm.get_plugins())

    @property
    def hook(self) -> Any:
        """``hook.on_dag_run_success(dag_run=..., msg=...)`` calls every listener (pluggy's
        way: the first that raises stops the call); Conveyor itself calls :func:`notify`."""
        return self.pm.hook

    def add_listener(self, listener: Any) -> None:
        if not self.pm.is_registered(listener):
            self.pm.register(listener)

    def remove_listener(self, listener: Any) -> None:
        if self.pm.is_registered(listener):
            self.pm.unregister(listener)

    def clear(self) -> None:
        """Take every listener away (tests)."""
        for listener in self.pm.get_plugins():
            self.pm.unregister(listener)


_manager = ListenerManager()
_plugins_loaded: set[str] = set()  # the plugins folders whose listeners are registered
#: Plugin modules of the folders loaded at start that failed to import, as messages.
import_errors: list[str] = []


def get_listener_manager() -> ListenerManager:
    """The process's listener manager (Airflow's ``get_listener_manager``)."""
    return _manager


def has_listeners() -> bool:
    return _manager.has_listeners


def hold_the_hop() -> bool:
    """Whether a listener of this process may take its time in a hook, so that a try's end
    must not have started the next try before its hooks run: any listener but those whose
    hooks only read and queue their work (a ``queues_its_work = True`` attribute, as
    Conveyor's OpenLineage listener has)."""
    return any(not getattr(p, "queues_its_work", False) for p in _manager.pm.get_plugins())


def notify(hook_name: str, **kwargs: Any) -> None:
    """Call hook ``hook_name`` of every listener, in pluggy's order (the last registered
    first), each with the arguments it names. A listener that raises is logged with its
    name; the others are called all the same, and the caller goes on."""
    if not _manager.has_listeners:
        return
    caller = getattr(_manager.pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        try:
            impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception:
            listener_log.exception(
                "listener %s raised in %s; carrying on", impl.plugin_name, hook_name
            )


def load_plugin_listeners(folder: str | None) -> None:
    """Register the ``listeners`` of every plugin of ``folder``, once per process, as
    Airflow's processes do when they start. A plugin module that fails to import is logged
    and kept in :data:`import_errors`; the others are loaded."""
    if folder is None or folder in _plugins_loaded:
        return
    _plugins_loaded.add(folder)
    try:
        found, errors = plugins.load_at_start(folder)
    except plugins.PluginError as exc:
        found, errors = {}, [str(exc)]
    for message in errors:
        log.error("plugin module of %s not loaded: %s", folder, message)
    import_errors.extend(errors)
    for plugin in found.values():
        extra_links.add_plugin_links(
            list(plugin.operator_extra_links or []), list(plugin.global_operator_extra_links or [])
        )
        for listener in plugin.listeners or []:
            try:
                _manager.add_listener(listener)
            except Exception as exc:  # not a listener pluggy accepts: say which plugin
                message = f"plugin {plugin.name!r}: listener {listener!r} refused: {exc}"
                log.error("%s", message)
                import_errors.append(message)


def reset() -> None:
    """Forget every listener and the plugins folders loaded (tests)."""
    _manager.clear()
    extra_links.reset()
    _plugins_loaded.clear()
    import_errors.clear()
