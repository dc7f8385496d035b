"""Airflow's listeners in a Conveyor process: its plugins' listeners registered at start,
and the DAG run hooks called for every run move the process commits.

Airflow calls ``on_dag_run_running`` / ``_success`` / ``_failed`` from the scheduler, which
moves its runs; in Conveyor the process that moves a run is the scheduler (a run started, a
run timed out) or the worker whose try's record ended it, so each calls them, once the move
is committed, with ``msg`` as Airflow's (``started``, ``success``, ``task_failure``,
``timed_out``, ``all_tasks_deadlocked``).

A task instance a person marks success or failed (the web UI and API, the CLI) is told to
``on_task_instance_success`` / ``_failed`` with ``previous_state=None``, as Airflow's API
tells it: the instance with its run and without its task; a whole run a person marks, to
``on_dag_run_success`` / ``_failed`` after its instances, with Airflow's ``msg`` ("Dag Run's
state was manually set to `success`."). The web server (with ``web_plugins``, as Airflow's
API server) and the CLI register the plugins' listeners and OpenLineage's for these
(:func:`start_for_marks`); they call no other DAG run hook, moving no run but by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from conveyor import lineage
from conveyor.airflow_compat import listeners
from conveyor.callbacks import airflow_reason
from conveyor.config import Settings
from conveyor.engine import manual
from conveyor.lifecycle import MARK_TARGETS
from conveyor.model.assets import Asset
from conveyor.model.datasets import AssetAlias
from conveyor.run_views import DagRunView
from conveyor.states import RunState, TaskState
from conveyor.store import datasets, transitions
from conveyor.store.engine import Store
from conveyor.store.runs import RunRow

log = logging.getLogger(__name__)

_HOOKS = {
    RunState.RUNNING: "on_dag_run_running",
    RunState.SUCCESS: "on_dag_run_success",
    RunState.FAILED: "on_dag_run_failed",
}


def start(settings: Settings, store: Store | None = None) -> None:
    """At a process's start: register its plugins folder's listeners and, when the settings
    say where OpenLineage events go, the OpenLineage listener (which reads the runs it tells
    of through ``store``); then call the DAG run hooks of the moves it commits from now on
    (only if a listener is registered then or later: a process without listeners reads
    nothing more)."""
    listeners.load_plugin_listeners(str(settings.plugins_path))
    lineage.start(settings, store)
    transitions.on_run_moves(lambda to, read: _run_moved(store, to, read))
    datasets.on_asset_events(_assets_changed)
    manual.on_marks(lambda read, to: _marked(store, read, to))
    manual.on_run_marks(lambda read, to: _run_marked(store, read, to))


def start_for_marks(settings: Settings, store: Store, *, plugins: bool = True) -> None:
    """Where a person marks task instances and runs (the web server, the CLI): the plugins'
    listeners (unless ``plugins`` is false) and OpenLineage's, when the settings say where
    events go, told of each mark committed."""
    if plugins and settings.plugins_path.is_dir():  # no folder: nothing of Airflow's to load
        listeners.load_plugin_listeners(str(settings.plugins_path))
    lineage.start(settings, store)
    manual.on_marks(lambda read, to: _marked(store, read, to))
    manual.on_run_marks(lambda read, to: _run_marked(store, read, to))


#: Airflow's words for a task instance a person marked failed (its listener's ``error``).
MARKED_FAILED = "TaskInstance's state was manually set to `failed`."


def _marked(store: Store | None, read: Callable[[], manual.MarkedRows], to: TaskState) -> None:
    """Airflow's task instance hooks for the instances a person marked ``to``."""
    if to not in MARK_TARGETS or not listeners.has_listeners():
        return
    for run, row in read():
        marked = DagRunView.of(run, store, "").marked(row)
        if to is TaskState.SUCCESS:
            listeners.notify("on_task_instance_success", previous_state=None, task_instance=marked)
        else:
            listeners.notify(
                "on_task_instance_failed",
                previous_state=None,
                task_instance=marked,
                error=MARKED_FAILED,
            )


def _run_marked(store: Store | None, read: Callable[[], RunRow], to: RunState) -> None:
    """Airflow's DAG run hook for a run a person marked ``to``, with its API's ``msg``; its
    ``dag_run`` reads its task instances through ``store``, as Airflow's ORM run does."""
    hook = _HOOKS.get(to)
    if hook is None or not listeners.has_listeners():
        return
    run = read()
    if run.state is not to:  # moved again since: that move tells its own
        return
    msg = f"Dag Run's state was manually set to `{to.value}`."
    listeners.notify(hook, dag_run=DagRunView.of(run, store, ""), msg=msg)


def _assets_changed(events: list[datasets.RecordedEvent]) -> None:
    """Airflow's ``on_asset_changed`` then ``on_asset_event_emitted``, for each event."""
    if not listeners.has_listeners():
        return
    for event in events:
        asset = Asset(uri=event.uri)
        aliases = [] if event.source_alias is None else [AssetAlias(event.source_alias)]
        listeners.notify("on_asset_changed", asset=asset)
        listeners.notify(
            "on_asset_event_emitted",
            asset_event=listeners.AssetEvent(
                asset=asset,
                extra=event.extra,
                source_dag_id=event.source_dag_id,
                source_task_id=event.source_task_id,
                source_run_id=event.source_run_id,
                source_map_index=event.source_map_index,
                source_aliases=aliases,
                partition_key=event.partition_key,
                partition_date=event.partition_date,
            ),
        )


#: While a try's process ends its try: the run moves its record committed, told after the
#: task instance's own hook (Airflow's scheduler sees a run end after its last task did).
_held: list[Callable[[], None]] | None = None


@contextmanager
def after_the_try() -> Iterator[None]:
    """Hold the DAG run hooks of the moves committed in this block until it ends."""
    global _held
    outer, _held = _held, []
    try:
        yield
    finally:
        held, _held = _held, outer
        for tell in held:
            tell()


def _run_moved(
    store: Store | None, to: RunState, read: Callable[[], tuple[RunRow, str | None]]
) -> None:
    """Airflow's DAG run hook for a run move this process committed; its ``dag_run`` reads
    its task instances through ``store``, as Airflow's ORM run does."""
    hook = _HOOKS.get(to)
    if hook is None or not listeners.has_listeners():
        return
    if _held is not None:
        _held.append(lambda: _run_moved(store, to, read))
        return
    run, note = read()
    if run.state is not to:  # moved again since: that move tells its own
        return
    dag_run = DagRunView.of(run, store, "")
    listeners.notify(hook, dag_run=dag_run, msg=message(run.state, note))


def message(state: RunState, note: str | None) -> str:
    """Airflow's ``msg`` for a run's new state."""
    if state is RunState.RUNNING:
        return "started"
    return airflow_reason(state, note)
