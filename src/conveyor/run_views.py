"""What tasks and callbacks see of a run and its task instances, by Airflow's names.

``context["dag_run"]`` is a :class:`DagRunView`: the run's row with Airflow's ``DagRun``
attributes (``start_date``, ``end_date``, ``external_trigger``, ``get_task_instance`` ...),
read from the store when first asked. ``dag_run.get_task_instance(task_id)`` gives a
:class:`TaskInstanceView`. An Airflow attribute Conveyor cannot give raises an AttributeError
that names it and says what to use instead, never a bare one.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from conveyor.exceptions import AirflowException
from conveyor.store.engine import Store
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow


class DagRunType(str, enum.Enum):  # noqa: UP042 - StrEnum would render as its value
    """``dag_run.run_type`` as Airflow 3 hands it to a task: an enum that equals its value
    (``== "manual"``) and renders as ``DagRunType.MANUAL``, as Airflow's does."""

    BACKFILL = "backfill"
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    OPERATOR_TRIGGERED = "operator_triggered"
    ASSET_TRIGGERED = "asset_triggered"
    ASSET_MATERIALIZATION = "asset_materialization"


#: Conveyor's run types by Airflow 3's (a dataset's update makes an "asset_triggered" run,
#: /api/v2's materialize of an asset an "asset_materialization" one).
_RUN_TYPES = {
    "backfill": DagRunType.BACKFILL,
    "scheduled": DagRunType.SCHEDULED,
    "manual": DagRunType.MANUAL,
    "dataset_triggered": DagRunType.ASSET_TRIGGERED,
    "asset_materialize": DagRunType.ASSET_MATERIALIZATION,
}


def log_url(
    web_url: str, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
) -> str:
    """The web UI's page of a try (where its log is), as Airflow's ``ti.log_url``."""
    path = f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/"
    path += quote(task_id, safe="")
    if map_index >= 0:
        path += f"/mapped/{map_index}"
    query = f"?try={try_number}" if try_number > 0 else ""
    return f"{web_url.rstrip('/')}{path}{query}"


def missing(what: str, name: str, hints: dict[str, str]) -> AttributeError:
    """The error for an attribute a view lacks: Airflow's that Conveyor cannot give say why
    and what to use; any other is a plain "no such attribute"."""
    hint = hints.get(name)
    if hint is not None:
        return AttributeError(f"{what}.{name} (Airflow's) is not available in Conveyor: {hint}")
    return AttributeError(f"{what} has no attribute {name!r}")


def as_exception(error: BaseException | str | None) -> BaseException | None:
    """A failure callback's ``exception``: the exception itself when this process has it,
    else an ``AirflowException`` carrying the recorded error text."""
    if error is None or isinstance(error, BaseException):
        return error
    return AirflowException(error)


#: Airflow's task instance attributes Conveyor cannot give, with what to use instead.
TI_HINTS: dict[str, str] = {
    "external_executor_id": "Conveyor keeps no executor-side id; use ti.hostname and ti.pid",
    "job_id": "Conveyor has no jobs table; use ti.hostname and ti.pid",
    "queued_by_job_id": "Conveyor has no jobs table; `conveyor tasks why` shows who queued it",
    "trigger_id": "`conveyor tasks why` shows the trigger a deferred try waits for",
    "next_method": "a deferred task's resume method is the operator's business, not the ti's",
    "next_kwargs": "a deferred task's resume arguments are the operator's business",
    "note": "read the note in the web UI or with the REST API",
    "refresh_from_db": "the handle reads the store when asked; nothing to refresh",
    "set_state": "return, raise AirflowSkipException or AirflowFailException instead",
    "previous_ti": "use ti.get_previous_ti()",
    "clear_xcom_data": "a try's XComs are replaced when it pushes again",
    "email_alert": "use email_on_failure= or a notifier (conveyor.notifiers)",
    "dag_version_id": "the run's DAG version is shown by `conveyor runs show`",
    "id": "task instances are named by dag_id, run_id, task_id and map_index",
}

#: Airflow's DagRun attributes Conveyor cannot give, with what to use instead.
RUN_HINTS: dict[str, str] = {
    "clear_number": "Conveyor does not count clears; the timeline shows each clear",
    "triggering_user_name": "dag_run.created_by says who or what made the run",
    "consumed_asset_events": "use context['triggering_asset_events']",
    "creating_job_id": "Conveyor has no jobs table",
    "dag_version": "the run's DAG version is shown by `conveyor runs show`",
    "get_previous_dagrun": "use the prev_* context values (prev_data_interval_start_success ...)",
    "get_previous_scheduled_dagrun": "use the prev_* context values",
    "update_state": "the scheduler moves runs; a task cannot",
    "set_state": "the scheduler moves runs; use `conveyor runs` or the REST API",
}


@dataclasses.dataclass(frozen=True)
class TaskInstanceView:
    """Another task instance of the run (``dag_run.get_task_instance(task_id)``), as read
    when asked."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int
    queue: str
    hostname: str | None
    start_date: datetime | None
    end_date: datetime | None
    log_url: str

    @property
    def duration(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()

    def __getattr__(self, name: str) -> Any:
        raise missing("task_instance", name, TI_HINTS)


@dataclasses.dataclass(frozen=True)
class PreviousTaskInstanceView(TaskInstanceView):
    """The task's instance in an earlier run (``ti.get_previous_ti()``): Airflow 3's answer
    (its run, logical date, dates, state and try), and ``xcom_pull`` from that run, as
    Airflow 2's task instance pulls."""

    logical_date: datetime | None = None
    pull: Callable[..., Any] | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def execution_date(self) -> datetime | None:
        return self.logical_date

    def xcom_pull(
        self,
        task_ids: Any = None,
        dag_id: str | None = None,
        key: str = "return_value",
        **more: Any,
    ) -> Any:
        """An XCom of that run (another's with ``run_id=``); ``task_ids=None``: this
        task's."""
        if self.pull is None:
            raise AttributeError("this task instance was read without a store to pull from")
        more.pop("session", None)  # Airflow 2's ORM session: the store needs none
        return self.pull(
            task_ids=self.task_id if task_ids is None else task_ids,
            dag_id=dag_id or self.dag_id,
            key=key,
            run_id=more.pop("run_id", None) or self.run_id,
            **more,
        )


@dataclasses.dataclass(frozen=True)
class MarkedTaskInstanceView(TaskInstanceView):
    """A task instance a person marked, as Airflow's API hands it to the listeners: with its
    run, without its task (the process that marks imports no DAG file)."""

    dag_run: DagRunView | None = None
    task: None = None


_View = TypeVar("_View", bound=TaskInstanceView)


class DagRunView(RunRow):
    """``context["dag_run"]``: the run with Airflow's ``DagRun`` attributes.

    It is a :class:`RunRow` (``id``, ``run_id``, ``run_type``, ``state``, ``logical_date``,
    the data interval, ``conf``, ``partition_key``, its dates and ``created_by`` ...), as it
    was when read: a try's context has the run as the try started, as Airflow's has.
    """

    _store: Store | None
    _web_url: str

    @classmethod
    def of(cls, row: RunRow, store: Store | None, web_url: str) -> DagRunView:
        view = cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(RunRow)})
        object.__setattr__(view, "run_type", _RUN_TYPES.get(row.run_type, row.run_type))
        object.__setattr__(view, "_store", store)
        object.__setattr__(view, "_web_url", web_url)
        return view

    @property
    def execution_date(self) -> datetime:
        return self.logical_date

    @property
    def run_after(self) -> datetime:
        return self.data_interval_end if self.run_type == "scheduled" else self.logical_date

    def get_state(self) -> str:
        """The run's state as read (Airflow 2's ``DagRun.get_state()``)."""
        return self.state.value

    @property
    def external_trigger(self) -> bool:
        """Airflow's: made by a person or a trigger, not by the schedule or a dataset."""
        return self.run_type == "manual"

    def get_task_instances(self, state: Any = None) -> list[TaskInstanceView]:
        """The run's task instances; ``state``: one state or a list of them to keep."""
        if self._store is None:
            return []
        with self._store.read() as conn:
            rows = task_reads.instances(conn, self.id)
        wanted = None
        if state is not None:
            wanted = {str(s) for s in (state if isinstance(state, list | tuple | set) else [state])}
        return [
            self._view(r, TaskInstanceView) for r in rows if wanted is None or r.state in wanted
        ]

    def get_task_instance(self, task_id: str, map_index: int = -1) -> TaskInstanceView | None:
        """One task instance of the run, or None (Airflow's answer too)."""
        if self._store is None:
            return None
        with self._store.read() as conn:
            row = task_reads.instance(conn, self.id, task_id, map_index)
        return None if row is None else self._view(row, TaskInstanceView)

    def marked(self, row: task_reads.InstanceRow) -> MarkedTaskInstanceView:
        """The run's instance ``row``, marked by a person (see :class:`MarkedTaskInstanceView`)."""
        return self._view(row, MarkedTaskInstanceView, dag_run=self)

    def previous_view(
        self, row: task_reads.InstanceRow, pull: Callable[..., Any]
    ) -> PreviousTaskInstanceView:
        """The run's instance ``row`` as ``ti.get_previous_ti()`` gives it, pulling XComs of
        this run through ``pull`` (the asking try's ``xcom_pull``)."""
        return self._view(row, PreviousTaskInstanceView, logical_date=self.logical_date, pull=pull)

    def _view(self, row: task_reads.InstanceRow, view: type[_View], **more: Any) -> _View:
        """The run's instance ``row`` as ``view`` (a ``TaskInstanceView``), with ``more``."""
        return view(
            **more,
            dag_id=self.dag_id,
            run_id=self.run_id,
            task_id=row.task_id,
            map_index=row.map_index,
            state=None if row.state == "none" else row.state,
            try_number=row.try_number,
            max_tries=max(row.max_tries - 1, 0),  # Airflow counts the retries, not the tries
            queue=row.queue,
            hostname=row.hostname,
            start_date=row.start_date,
            end_date=row.end_date,
            log_url=log_url(
                self._web_url,
                self.dag_id,
                self.run_id,
                row.task_id,
                row.map_index,
                row.try_number,
            ),
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # our own, before of() set them (copy, pickle)
            raise AttributeError(name)
        raise missing("dag_run", name, RUN_HINTS)
