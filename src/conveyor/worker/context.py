"""What a running task sees: the template/callable context and its ``ti`` handle."""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from lazy_object_proxy import Proxy

from conveyor import xcom_serde
from conveyor.callbacks import DEFAULT_WEB_URL, run_dates
from conveyor.clock import context_moment, utcnow
from conveyor.connections import template_context
from conveyor.engine import manual
from conveyor.exceptions import TaskError
from conveyor.lifecycle import Actor, StartedTry
from conveyor.model.airflow_rows import AirflowRowType
from conveyor.model.assets import (
    Asset,
    AssetEvent,
    EventsByAsset,
    OutletEvents,
    triggering_events,
)
from conveyor.model.dag import DAG
from conveyor.model.datasets import AssetAlias
from conveyor.model.task import BaseOperator, MappedOperator
from conveyor.model.templating import standard_context
from conveyor.model.xcom_arg import RETURN_VALUE
from conveyor.run_views import TI_HINTS, DagRunView, PreviousTaskInstanceView, log_url, missing
from conveyor.states import RunState, TaskState
from conveyor.store import datasets, foreign, runs, sensing, trigger
from conveyor.store.engine import Store, retrying
from conveyor.store.mapping import xcom_value
from conveyor.store.reads import lookups
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow
from conveyor.store.xcom import instance_xcom, upsert_xcom
from conveyor.strict_json import DEFAULT_MAX_CONF_BYTES, problem
from conveyor.worker.xcom_masking import shown_xcom
from conveyor.worker.xcom_pulls import ALL_INDEXES, PullRequest, pull


def xcom_json(value: Any, what: str) -> Any:
    """``value`` as the store keeps it as an XCom: what JSON has no type for (a datetime, a
    set, a Decimal, a dataclass...) written as Airflow writes it (``xcom_serde``), then
    checked as strict JSON; TaskError, which fails the try with the reason, for a value
    neither can keep."""
    try:
        written = xcom_serde.encode(value)
    except (TypeError, ValueError) as exc:
        raise TaskError(f"{what} cannot be kept as an XCom: {exc}") from exc
    return check_json(written, what)


def check_json(value: Any, what: str) -> Any:
    """``value`` if the store can keep it as an XCom: plain data, and strict JSON (no NaN,
    Infinity or lone surrogates, which no reader could be sent); else TaskError, which
    fails the try with the reason."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TaskError(f"{what} is not JSON serializable ({exc}); return plain data") from exc
    found = problem(value)
    if found is not None:
        raise TaskError(
            f"{what} is not strict JSON: {found}; JSON has no NaN or Infinity and text "
            "no lone surrogates (return None, a string, or a finite number instead)"
        )
    return value


class TaskInstanceHandle(metaclass=AirflowRowType):
    """``context["ti"]``: the running try, with XCom push and pull, and Airflow's task
    instance attributes (``log_url``, ``start_date``, ``state``, ``dag_run`` ...). In a
    callback that runs after the try ended, ``state``, ``end_date`` and ``duration`` are
    the recorded ones. An Airflow attribute Conveyor cannot give raises an AttributeError
    that says what to use instead."""

    airflow_name: ClassVar[str] = "TaskInstance"

    def __init__(
        self,
        store: Store,
        run: RunRow,
        task: BaseOperator,
        started: StartedTry,
        hostname: str,
        log_path: str | None,
        *,
        home: Path | None = None,
        max_conf_bytes: int = DEFAULT_MAX_CONF_BYTES,
        web_url: str = DEFAULT_WEB_URL,
        readable: xcom_serde.Allowed | None = None,
    ) -> None:
        map_index = started.map_index
        #: The classes an XCom may be read back as (allowed_deserialization_classes).
        self._readable = readable or xcom_serde.allowed_classes()
        self._store = store
        self._max_conf_bytes = max_conf_bytes  # for the runs this try triggers
        self._web_url = web_url
        self._ti_id = started.ti_id
        self.home = home  # the worker's $CONVEYOR_HOME (virtualenv caches live there)
        self.map_index = map_index  # {{ ti.map_index }}: which instance of a mapped task
        self._run = run
        self.dag_run = DagRunView.of(run, store, web_url)
        self.task = task
        self.dag_id = run.dag_id
        self.run_id = run.run_id
        self.task_id = task.task_id
        # The try as Airflow numbers it: a poke or a resumption that continues it keeps it.
        self.try_number = started.shown_try
        # Airflow's ti.max_tries counts the retries; the store keeps the tries allowed.
        self.max_tries = max(started.shown_max_tries - 1, 0)
        self._dispatch = started.try_number  # this dispatch's own rows in the store
        self.hostname = hostname
        self.pid = os.getpid()
        self.log_path = log_path
        self.start_date = started.start_date
        self.state: str | None = TaskState.RUNNING.value
        #: The task's map_index_template as rendered after execute (None until then).
        self.rendered_map_index: str | None = None
        self._ended = False
        self._end_date: datetime | None = None
        self._context: dict[str, Any] | None = None

    @property
    def dispatch_number(self) -> int:
        """This dispatch's number in the store (``try_number`` there): a reschedule-mode
        poke or a resumption has one of its own while ``try_number`` stays its try's."""
        return self._dispatch

    # -- Airflow's attributes ---------------------------------------------------------------

    @property
    def log(self) -> logging.Logger:
        """Airflow's ``ti.log``: the ``airflow.task`` logger, whose lines go to the try's log."""
        return logging.getLogger("airflow.task")

    @property
    def logical_date(self) -> datetime:
        return self._run.logical_date

    @property
    def execution_date(self) -> datetime:
        return self._run.logical_date

    @property
    def operator(self) -> str:
        """The task's class name, as Airflow's ``ti.operator``."""
        return str(getattr(self.task, "operator_name", type(self.task).__name__))

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, once the try has ended (None before, as in Airflow)."""
        if self.end_date is None or self.start_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()

    @property
    def pool(self) -> str:
        return str(getattr(self.task, "pool", "default_pool"))

    @property
    def pool_slots(self) -> int:
        return int(getattr(self.task, "pool_slots", 1))

    @property
    def queue(self) -> str:
        return str(getattr(self.task, "queue", "default"))

    @property
    def priority_weight(self) -> int:
        return int(getattr(self.task, "priority_weight", 1))

    @property
    def executor_config(self) -> dict[str, Any]:
        return dict(getattr(self.task, "executor_config", None) or {})

    @property
    def is_mapped(self) -> bool:
        return self.map_index >= 0

    @property
    def log_url(self) -> str:
        """This try's page in the web UI (``web_url`` / Airflow's ``[api] base_url``)."""
        return log_url(
            self._web_url, self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number
        )

    @property
    def mark_success_url(self) -> str:
        """Where a person marks it success: its page, whose actions do (as in Airflow 3)."""
        return self.log_url

    def get_dagrun(self) -> DagRunView:
        return self.dag_run

    def get_template_context(self) -> dict[str, Any]:
        """The context the try runs with."""
        if self._context is None:
            raise RuntimeError("the try's context is not built yet")
        return self._context

    def ended(
        self,
        state: TaskState | None,
        rendered_map_index: str | None = None,
        *,
        ended_at: datetime | None = None,
    ) -> None:
        """After the try's outcome is recorded: its state, its ``map_index_template`` as
        rendered and the end the record gave it, for callbacks and listeners (an end not
        given is read when asked)."""
        self.state = state.value if state is not None else None
        self.rendered_map_index = rendered_map_index
        self._end_date = ended_at
        self._ended = True

    @property
    def end_date(self) -> datetime | None:
        """When the try ended, as recorded; None while it runs."""
        if self._ended and self._end_date is None:
            with self._store.read() as conn:
                found = task_reads.get_dispatch(conn, self._ti_id, self._dispatch)
            # A deferral or a reschedule records no end on the try: now is when it stopped.
            self._end_date = found.end_date if found and found.end_date else utcnow()
        return self._end_date

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # our own, before __init__ set them (copy, pickle)
            raise AttributeError(name)
        raise missing("task_instance", name, TI_HINTS)

    def xcom_push(self, key: str, value: Any) -> None:
        value = xcom_json(value, f"XCom {key!r} of task {self.task_id!r}")
        with self._store.write() as conn:
            shown = shown_xcom(value)  # what readers see: the secrets this try read masked
            upsert_xcom(conn, self._run.id, self.task_id, key, value, self.map_index, shown=shown)

    def xcom_pull_one(self, task_id: str, key: str = RETURN_VALUE) -> Any:
        """A task's XCom; of a mapped task, the list of its instances' values in order (an
        empty list when it expanded into none, as Airflow hands it downstream)."""
        with self._store.read() as conn:
            value = xcom_value(conn, self._run.id, task_id, key)
        if value is None and self._is_mapped(task_id):
            return []
        return xcom_serde.decode(value, self._readable)

    def xcom_pull_at(self, task_id: str, key: str, map_index: int) -> Any:
        """The XCom of one instance of a task (None when it pushed none)."""
        with self._store.read() as conn:
            value = instance_xcom(conn, self._run.id, task_id, map_index, key)
        return xcom_serde.decode(value, self._readable)

    def _is_mapped(self, task_id: str) -> bool:
        dag = self.task.dag
        found = dag.task_dict.get(task_id) if dag is not None else None
        return isinstance(found, MappedOperator)

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = RETURN_VALUE,
        include_prior_dates: bool = False,
        session: Any = None,  # Airflow 2's ORM session: Conveyor's store needs none
        *,
        map_indexes: Any = ALL_INDEXES,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """Airflow 3's ``xcom_pull`` (see ``xcom_pulls``): ``task_ids=None`` is this task,
        ``dag_id`` / ``run_id`` default to this try's, a list of tasks answers a list.

        A key a task of this run did not push is looked up in the dict it returned, if any.
        """
        single = isinstance(task_ids, str) or task_ids is None
        if isinstance(task_ids, str):
            ids = [task_ids]
        else:  # an empty list asks for nothing, not for this task
            ids = [self.task_id] if task_ids is None else list(task_ids)
        request = PullRequest(
            dag_id=dag_id or self.dag_id,
            run_id=run_id or self.run_id,
            task_ids=ids,
            single_task=single,
            key=key,
            include_prior_dates=include_prior_dates,
            map_indexes=map_indexes,
            default=default,
            calling_date=self._run.logical_date,
            run_id_given=run_id is not None,
        )
        with self._store.read() as conn:
            value = xcom_serde.decode(pull(conn, request), self._readable)
        this_run = request.dag_id == self.dag_id and request.run_id == self.run_id
        if value is None and single and this_run and key != RETURN_VALUE:
            returned = self.xcom_pull_one(ids[0], RETURN_VALUE)
            if isinstance(returned, dict):
                return returned.get(key)
        return value

    # -- what operators and sensors ask of the store (they never reach it themselves) ----

    def first_poke_time(self) -> datetime:
        """When this series of reschedule pokes began: the start of the earliest try in the
        unbroken chain of reschedules that led to this one (a retry after a failure starts
        anew); now, if none has a start recorded."""
        with self._store.read() as conn:
            start = sensing.reschedule_series_start(
                conn, self._run.id, self.task_id, self.map_index, self._dispatch
            )
        return start or utcnow()

    def external_states(
        self,
        dag_id: str,
        logical_date: datetime,
        *,
        task_id: str | None = None,
        group_id: str | None = None,
    ) -> list[str]:
        """The states of another DAG's runs at ``logical_date`` (no task or group given), or
        of its task ``task_id``, or of every task of its group ``group_id``, in those runs."""
        with self._store.read() as conn:
            if task_id is None and group_id is None:
                return sensing.run_states(conn, dag_id, logical_date)
            return sensing.task_states(
                conn, dag_id, logical_date, task_id=task_id, group_id=group_id
            )

    def trigger_dag_run(
        self,
        dag_id: str,
        *,
        run_id: str,
        conf: dict[str, Any] | None = None,
        logical_date: datetime | None = None,
    ) -> int | None:
        """Queue a manual run of ``dag_id``, made by this try; None if that run id exists.
        Its conf is checked as every trigger checks it (ConfRefused); NotFoundError while
        the DAG is not registered."""
        with self._store.write() as conn:
            try:
                made = trigger.trigger_run(
                    conn,
                    dag_id,
                    created_by=self._trigger_creator,
                    conf=conf,
                    logical_date=logical_date,
                    run_id=run_id,
                    max_conf_bytes=self._max_conf_bytes,
                )
            except trigger.RunExists:
                return None
        return made.id

    @property
    def _trigger_creator(self) -> str:
        return f"task {self.dag_id}.{self.task_id} ({self.run_id})"

    def made_dag_run(self, dag_id: str, run_id: str) -> bool:
        """Whether this task instance (an earlier try of it) made that run."""
        with self._store.read() as conn:
            return trigger.run_creator(conn, dag_id, run_id) == self._trigger_creator

    def reset_dag_run(self, dag_id: str, run_id: str) -> None:
        """Clear every task of that run, so that it runs again (``reset_dag_run=True``)."""
        actor = Actor(f"task {self.dag_id}.{self.task_id}")
        with self._store.write() as conn:
            manual.clear_tasks(conn, dag_id, run_id, None, actor)

    def dag_run_state(self, dag_id: str, run_id: str) -> RunState:
        """The state of a run of any DAG."""
        with self._store.read() as conn:
            return runs.find_run(conn, dag_id, run_id).state

    # -- Airflow's lookups of other runs (the task SDK's, and Airflow 2's previous ones) ----

    def get_dagrun_state(self, dag_id: str, run_id: str) -> str:
        """The state of a run of any DAG (NotFoundError naming it if there is none)."""
        return self.dag_run_state(dag_id, run_id).value

    def get_dr_count(
        self,
        dag_id: str,
        logical_dates: list[datetime] | None = None,
        run_ids: list[str] | None = None,
        states: list[str] | None = None,
    ) -> int:
        """How many runs of ``dag_id`` have those logical dates, run ids and states."""
        with self._store.read() as conn:
            return lookups.run_count(
                conn, dag_id, logical_dates=logical_dates, run_ids=run_ids, states=states
            )

    def get_ti_count(
        self,
        dag_id: str,
        map_index: int | None = None,
        task_ids: list[str] | None = None,
        task_group_id: str | None = None,
        logical_dates: list[datetime] | None = None,
        run_ids: list[str] | None = None,
        states: list[str] | None = None,
    ) -> int:
        """How many task instances of ``dag_id`` meet the filters (``"null"``: no state)."""
        which = lookups.InstanceFilter(
            dag_id, map_index, task_ids, task_group_id, logical_dates, run_ids
        )
        with self._store.read() as conn:
            return lookups.instance_count(conn, which, states)

    def get_task_states(
        self,
        dag_id: str,
        map_index: int | None = None,
        task_ids: list[str] | None = None,
        task_group_id: str | None = None,
        logical_dates: list[datetime] | None = None,
        run_ids: list[str] | None = None,
    ) -> dict[str, dict[str, str | None]]:
        """``{run_id: {task_id: state}}`` of ``dag_id``'s instances that meet the filters
        (a mapped task's instance as ``task_<map_index>``)."""
        which = lookups.InstanceFilter(
            dag_id, map_index, task_ids, task_group_id, logical_dates, run_ids
        )
        with self._store.read() as conn:
            return lookups.instance_states(conn, which)

    def get_previous_dagrun(self, state: str | None = None, session: Any = None) -> Any:
        """The DAG's run before this one by logical date (in run state ``state``, when
        given), or None. In an Airflow 2 file with ``catchup`` and no state, the scheduled
        or backfilled run before, as Airflow 2's."""
        with self._store.read() as conn:
            run = lookups.latest_run(conn, self.dag_id, **self._runs_before(state))
        return None if run is None else DagRunView.of(run, self._store, self._web_url)

    def get_previous_ti(
        self,
        state: str | None = None,
        logical_date: datetime | None = None,
        map_index: int = -1,
        session: Any = None,
    ) -> PreviousTaskInstanceView | None:
        """This task's instance in an earlier run, or None. Airflow 3's (and Conveyor's
        own DAGs'): its last instance in a run before ``logical_date`` (this run's), of
        ``map_index``, in instance state ``state`` when given. An Airflow 2 file's: its
        instance in the run ``get_previous_dagrun(state)`` gives (``state`` the run's)."""
        if self._previous_as_airflow_2 and (logical_date is not None or map_index != -1):
            raise TypeError(
                "get_previous_ti(logical_date=, map_index=) is Airflow 3's: Airflow 2's takes "
                "state= only (this DAG is an Airflow 2 file's, from airflow or airflow.models)"
            )
        with self._store.read() as conn:
            if self._previous_as_airflow_2:
                found = lookups.instance_in_latest_run(
                    conn, self.dag_id, self.task_id, **self._runs_before(state)
                )
            else:
                found = lookups.previous_instance(
                    conn,
                    self.dag_id,
                    self.task_id,
                    map_index,
                    before=logical_date or self._run.logical_date,
                    state=state,
                )
        if found is None:
            return None
        run, row = found
        return DagRunView.of(run, self._store, self._web_url).previous_view(row, self.xcom_pull)

    def get_previous_start_date(
        self, state: str | None = None, session: Any = None
    ) -> datetime | None:
        """When the instance ``get_previous_ti(state)`` gives started (Airflow 2's)."""
        previous = self.get_previous_ti(state)
        return None if previous is None else previous.start_date

    def get_previous_execution_date(
        self, state: str | None = None, session: Any = None
    ) -> datetime | None:
        """The logical date of the instance ``get_previous_ti(state)`` gives (Airflow 2's)."""
        previous = self.get_previous_ti(state)
        return None if previous is None else previous.logical_date

    @property
    def _previous_as_airflow_2(self) -> bool:
        dag = self.task.dag
        return dag is not None and dag.previous_as_airflow_2

    def _runs_before(self, state: str | None) -> dict[str, Any]:
        """Which runs ``get_previous_dagrun(state)`` looks among: before this one, in that
        state; in an Airflow 2 file with ``catchup`` and no state, none triggered."""
        dag = self.task.dag
        scheduled_only = (
            self._previous_as_airflow_2
            and state is None
            and dag is not None
            and dag.catchup
            and dag.schedule.can_be_scheduled
        )
        return {
            "before": self._run.logical_date,
            "state": state,
            "triggered_too": not scheduled_only,
        }

    def asset_events(self, key: str) -> list[AssetEvent]:
        """The events of a dataset (by URI) or through an alias (by its key), oldest first:
        what ``inlet_events[...]`` lists."""
        with self._store.read() as conn:
            rows = datasets.events_of(conn, key)
        return [
            AssetEvent(
                id=r.id,
                asset=Asset(uri=r.uri),
                extra=r.extra,
                timestamp=r.at,
                source_dag_id=r.source_dag_id,
                source_run_id=r.source_run_id,
                source_task_id=r.source_task_id,
                source_map_index=r.source_map_index,
                source_aliases=[AssetAlias(r.source_alias)] if r.source_alias else [],
                partition_key=r.partition_key,
            )
            for r in rows
        ]

    def first_row(self, url: str, sql: str, parameters: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a query against another database (a SqlSensor's), or None."""
        return foreign.first_row(url, sql, parameters)

    def __repr__(self) -> str:
        return f"<TaskInstance {self.dag_id}.{self.task_id} {self.run_id} try {self.try_number}>"


def push_each_key(ti: TaskInstanceHandle, value: Any, task_id: str) -> None:
    """``multiple_outputs``: each key of the returned dict is an XCom of its own too."""
    if not isinstance(value, dict):
        raise TaskError(
            f"task {task_id!r} has multiple_outputs=True but returned "
            f"{type(value).__name__}, not a dict"
        )
    for key, item in value.items():
        if not isinstance(key, str):
            raise TaskError(f"task {task_id!r}: multiple_outputs keys must be strings, got {key!r}")
        ti.xcom_push(key, item)


#: The run type of a run its datasets' updates made (``scheduler.datasets.RUN_TYPE``).
DATASET_TRIGGERED = "dataset_triggered"


#: The ``prev_*_success`` values of the runs this process ran tries of lately, by run: one
#: read per run and process rather than one more on every try's path (a run that succeeds
#: before this one ends while it runs is seen by this run's tries in a fresh process only).
_PREVIOUS_SUCCESS: OrderedDict[tuple[str, int], dict[str, datetime | None]] = OrderedDict()
_PREVIOUS_KEPT = 256
_PREVIOUS_SUCCESS_COLUMNS = ("start_date", "end_date", "data_interval_start", "data_interval_end")
#: The context's names of the last successful run's dates, in the order of those columns.
PREVIOUS_SUCCESS_NAMES = tuple(f"prev_{column}_success" for column in _PREVIOUS_SUCCESS_COLUMNS)


def previous_success(store: Store, run: RunRow) -> dict[str, datetime | None]:
    """The ``prev_*_success`` values, read now: dates of the DAG's last successful run
    before this one, None for each when there is none."""
    key = (str(store.url), run.id)
    known = _PREVIOUS_SUCCESS.get(key)
    if known is not None:
        _PREVIOUS_SUCCESS.move_to_end(key)
        return known

    def read() -> dict[str, Any] | None:
        with store.read() as conn:
            return runs.previous_success(conn, run)

    # On every try's path, so it outlasts a store that is briefly away, as the try's other
    # transactions do (a try that failed here would be lost work, not the task's failure).
    found = retrying(read, what="reading the DAG's last successful run")
    values = {
        name: context_moment(found[column]) if found is not None else None
        for name, column in zip(PREVIOUS_SUCCESS_NAMES, _PREVIOUS_SUCCESS_COLUMNS, strict=True)
    }
    _PREVIOUS_SUCCESS[key] = values
    if len(_PREVIOUS_SUCCESS) > _PREVIOUS_KEPT:
        _PREVIOUS_SUCCESS.popitem(last=False)
    return values


def lazy_previous_success(store: Store, run: RunRow) -> dict[str, Any]:
    """The ``prev_*_success`` values as Airflow's task runner gives them: proxies that read
    the DAG's last successful run when a task first uses one, so a try that uses none reads
    nothing. As on Airflow, a proxy is never ``None`` itself (``is None`` is False, ``== None``
    and ``not`` see the value)."""
    return {
        name: Proxy(lambda name=name: previous_success(store, run)[name])
        for name in PREVIOUS_SUCCESS_NAMES
    }


def build_context(
    dag: DAG, task: BaseOperator, run: RunRow, ti: TaskInstanceHandle
) -> dict[str, Any]:
    # They build on this module.
    from conveyor.worker.task_state import TaskStateStore, asset_state_stores

    # A task's own params (Airflow's operator params=) sit between the DAG's and the run's.
    params = {**dag.params, **(getattr(task, "params", None) or {}), **(run.conf or {})}
    context = {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "dag_run": ti.dag_run,
        "run_id": run.run_id,
        "conf": run.conf,
        "params": params,
        **run_dates(run),
        "try_number": ti.try_number,
        # Airflow 3.2's partition of the run, and 3.3's moment that partition starts.
        "partition_key": run.partition_key,
        "partition_date": context_moment(run.partition_date),
        # Airflow 3's asset events: what this try emits, and what it reads.
        "outlet_events": OutletEvents(),
        "inlet_events": EventsByAsset(
            list(getattr(task, "inlets", None) or []), ti.asset_events, "inlet_events"
        ),
        "triggering_asset_events": triggering_events(
            list((run.conf or {}).get("dataset_events") or [])
            if run.run_type == DATASET_TRIGGERED
            else []
        ),
        "task_state_store": TaskStateStore(ti),
        **lazy_previous_success(ti._store, run),
        **template_context(),  # conn and var: read lazily, only when a template uses them
    }
    asset_stores = asset_state_stores(ti)
    if asset_stores is not None:  # Airflow gives it only to a task that names an asset
        context["asset_state_store"] = asset_stores
    context = {**standard_context(context), **context}
    for name in dag.removed_context_names:  # an Airflow 3 file's DAG: as on Airflow 3
        context.pop(name, None)
    ti._context = context
    return context
