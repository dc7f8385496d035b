"""The OpenLineage listener: Airflow's listener hooks turned into events, handed to the
process's emitter. A try's hook reads in the caller's thread what changes (its operator's
lineage, the task instance and its run as they are now) and queues the rest of the work:
the emitter's thread builds the event and sends it, off the hop. Any error is logged, never
raised into the try or the scheduler."""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

from openlineage.client.event_v2 import RunState

from conveyor.airflow_compat import table
from conveyor.airflow_compat.listeners import hookimpl
from conveyor.lineage import events, extraction
from conveyor.lineage.emitter import Emitter
from conveyor.lineage.redaction import redacted
from conveyor.lineage.settings import LineageSettings
from conveyor.lineage.stored_dag import StoredDag
from conveyor.model.airflow_operators import airflow_operator_class
from conveyor.providers.openlineage.selective import marked
from conveyor.run_views import DagRunView
from conveyor.stats import airflow as airflow_stats
from conveyor.store import runs, sensing
from conveyor.store.engine import Store

log = logging.getLogger(__name__)


class OpenLineageListener:
    """Registered in a process's listener manager when lineage is on."""

    #: Its hooks only read and queue (see :func:`conveyor.airflow_compat.listeners.hold_the_hop`).
    queues_its_work = True

    def __init__(self, lineage: LineageSettings, emitter: Emitter, store: Store | None) -> None:
        self.lineage = lineage
        self.emitter = emitter
        self.store = store
        self._disabled: tuple[set[type], set[str]] | None = None

    # -- a try's events (in the try's process) --------------------------------------------

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        self._task(RunState.START, extraction.START, task_instance)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._task(RunState.COMPLETE, extraction.COMPLETE, task_instance)

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        self._task(RunState.COMPLETE, extraction.COMPLETE, task_instance)

    @hookimpl
    def on_task_instance_failed(
        self, previous_state: Any, task_instance: Any, error: BaseException | str | None
    ) -> None:
        self._task(RunState.FAIL, extraction.FAIL, task_instance, error)

    def _task(
        self, state: RunState, moment: str, ti: Any, error: BaseException | str | None = None
    ) -> None:
        if getattr(ti, "task", None) is None:
            self._marked(state, ti, error)
            return
        try:
            if not self._task_emits(ti.task):
                return
            continues = state is RunState.START and _reschedules(ti.task)
            if continues and self._continues_its_try(ti):
                return  # the sensor's first poke said START, as Airflow's does once
            started = time.perf_counter()
            lineage = extraction.lineage_of(ti.task, moment, ti, self.lineage.source_code)
            _extracted(state, ti.task, time.perf_counter() - started)
            read = events.task_moment(state, ti, error=error)
        except Exception:
            log.warning("OpenLineage: no %s event for %s", state.value, ti, exc_info=True)
            return
        namespace = self.lineage.namespace
        # Read now, built by the sending thread: the hop does not wait for the event's
        # facets (the secrets masked then are a superset of this try's: they only grow).
        self.emitter.submit(lambda: redacted(events.task_event_of(read, namespace, lineage)))

    def _marked(self, state: RunState, ti: Any, error: BaseException | str | None) -> None:
        """A task instance a person marked (it comes without its task, as Airflow's API
        hands it over): the COMPLETE or FAIL event of its try that Airflow's provider sends
        then, with no lineage of the operator's and no ``airflow`` facet, whatever the DAG's
        lineage choices (they are its task's, which is not read here)."""
        try:
            event = events.marked_task_event(state, self.lineage.namespace, ti, error=error)
            self.emitter.submit(event)
        except Exception:
            log.warning("OpenLineage: no %s event for %s", state.value, ti, exc_info=True)

    def _continues_its_try(self, ti: Any) -> bool:
        """A later poke of its try: the dispatch before it ended waiting (rescheduled,
        deferred, awaiting input). ``ti.try_number`` is already the try Airflow shows."""
        dispatch = int(getattr(ti, "dispatch_number", ti.try_number))
        if dispatch <= 1 or self.store is None:
            return False
        with self.store.read() as conn:
            first = sensing.waiting_series_first_try(
                conn, ti.dag_run.id, ti.task_id, ti.map_index, dispatch
            )
        return first != dispatch

    def _task_emits(self, task: Any) -> bool:
        if self._operator_disabled(task):
            return False
        if not self.lineage.selective_enable:
            return True
        mark = marked(task)
        if mark is None:  # marked through its DAG after it joined (with enable_lineage(DAG))
            dag = getattr(task, "dag", None)
            mark = marked(dag.params) if dag is not None else None
        return mark is True

    def _operator_disabled(self, task: Any) -> bool:
        if not self.lineage.disabled_for_operators:
            return False
        if self._disabled is None:
            self._disabled = _disabled_classes(self.lineage.disabled_for_operators)
        classes, paths = self._disabled
        cls = type(task)
        return cls in classes or f"{cls.__module__}.{cls.__qualname__}" in paths

    # -- a DAG run's events (in the process that moved the run) ---------------------------

    @hookimpl
    def on_dag_run_running(self, dag_run: Any, msg: str) -> None:
        self._dag_run(RunState.START, dag_run, msg)

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._dag_run(RunState.COMPLETE, dag_run, msg)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._dag_run(RunState.FAIL, dag_run, msg)

    def _dag_run(self, state: RunState, dag_run: Any, msg: str) -> None:
        try:
            dag = None
            task_states = None
            if self.store is not None:
                with self.store.read() as conn:
                    dag = StoredDag(runs.serialized_dag(conn, dag_run.version_hash).raw)
                dag_run = DagRunView.of(dag_run, self.store, "")  # its instances, read below
                if state is not RunState.START:
                    task_states = [
                        (ti.task_id, ti.state, ti.duration or 0.0)
                        for ti in dag_run.get_task_instances()
                    ]
            if self.lineage.selective_enable and (dag is None or marked(dag.params) is not True):
                return
            event = events.dag_run_event(
                state,
                self.lineage.namespace,
                dag_run,
                dag=dag,
                msg=msg,
                task_states=task_states,
            )
            self.emitter.submit(event)
        except Exception:
            log.warning(
                "OpenLineage: no %s event for DAG run %s", state.value, dag_run, exc_info=True
            )


#: Airflow's OpenLineage listener names its extraction of a START event ``running``.
_EXTRACTED_AT = {RunState.START: "running", RunState.COMPLETE: "complete", RunState.FAIL: "fail"}


def _extracted(state: RunState, task: Any, seconds: float) -> None:
    """Airflow's ``ol.extract``: how long the operator's lineage took to gather, by event and
    operator class (lower case, as Airflow's listener names it)."""
    if airflow_stats.on():
        operator = airflow_operator_class(getattr(task, "decorated_as", None), type(task).__name__)
        airflow_stats.lineage_extracted(_EXTRACTED_AT[state], operator.lower(), seconds)


def _reschedules(task: Any) -> bool:
    """A sensor in reschedule mode (each poke a dispatch of its own here)."""
    return getattr(task, "mode", None) == "reschedule"


def _disabled_classes(entries: frozenset[str]) -> tuple[set[type], set[str]]:
    """The classes ``disabled_for_operators`` names: Airflow's paths resolved to the class
    Conveyor gives for them; any other entry compared as a class path."""
    classes: set[type] = set()
    for entry in entries:
        module, _, name = entry.rpartition(".")
        target = table.lookup(module, name)
        if target is None:
            continue
        target_module, _, attribute = target.partition(":")
        try:
            found = getattr(importlib.import_module(target_module), attribute)
        except Exception:
            continue
        if isinstance(found, type):
            classes.add(found)
    return classes, set(entries)
