"""The few Airflow objects that are more than a Conveyor name: small adapters, no engine code.

``DAG`` and ``dag`` take Airflow's keywords (``schedule_interval`` ...) and Airflow 2's
default schedule (daily); ``SdkDAG`` / ``sdk_dag`` are Airflow 3's, whose default is no
schedule. The rest are helpers Airflow files call: ``days_ago``, ``BaseHook.get_connection``,
``get_current_context``, ``cross_downstream``, the date macros.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import types
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import conveyor
from conveyor import lifecycle
from conveyor.airflow_compat.operators import BashTaskOperator, airflow_operator_class
from conveyor.airflow_compat.table import ACCEPTED_KEYWORDS, DOCS, REFUSED_KEYWORDS
from conveyor.airflow_compat.task_conditions import run_if, skip_if
from conveyor.clock import utcnow
from conveyor.connections import Connection, current_store, get_connection
from conveyor.decorators import TaskFunction
from conveyor.exceptions import AirflowTaskTimeout, DagDefinitionError
from conveyor.model.dag import UTC
from conveyor.model.dependencies import DependencyTarget, tasks_of
from conveyor.model.runtime import get_current_context
from conveyor.states import FAILED_LIKE, FINISHED, TaskState

if TYPE_CHECKING:
    from conveyor.run_views import DagRunView

__all__ = [
    "DAG",
    "BaseHook",
    "Context",
    "SdkDAG",
    "State",
    "apply_defaults",
    "cross_downstream",
    "dag",
    "days_ago",
    "get_current_context",
    "sdk_dag",
    "task",
    "timezone",
    "utc_datetime",
    "utcnow",
]

_DROPPED_DAG_KEYS = (
    "default_view",
    "orientation",
    "owner_links",
)
_DAG_ACCEPTS = frozenset(inspect.signature(conveyor.DAG.__init__).parameters) - {"self"}


def dag_kwargs(dag_id: str, kwargs: dict[str, Any], default_schedule: Any) -> dict[str, Any]:
    """Airflow's DAG keywords in Conveyor's spelling; a keyword with no meaning here is an
    error that says what to write instead."""
    options = dict(kwargs)
    for older in ("schedule_interval", "timetable"):  # Airflow 2's names for schedule=
        if older in options:
            if "schedule" in options:
                raise DagDefinitionError(
                    f"DAG {dag_id!r}: both schedule= and {older}= are given; keep schedule="
                )
            options["schedule"] = options.pop(older)
    if "concurrency" in options:
        options.setdefault("max_active_tasks", options.pop("concurrency"))
    if "fail_stop" in options:  # Airflow 2's name of fail_fast
        options.setdefault("fail_fast", options.pop("fail_stop"))
    for key in _DROPPED_DAG_KEYS:
        options.pop(key, None)
    options.setdefault("schedule", default_schedule)
    for key in options:
        if key in _DAG_ACCEPTS:
            continue
        hint = REFUSED_KEYWORDS.get(key) or ACCEPTED_KEYWORDS.get(key)
        instead = f": {hint}" if hint else ""
        raise DagDefinitionError(
            f"DAG {dag_id!r}: Conveyor does not take the keyword {key}={options[key]!r}"
            f"{instead} (see {DOCS})"
        )
    return options


class DAG(conveyor.DAG):
    """Airflow 2's ``DAG``: Airflow's keywords, and a daily schedule unless one is given."""

    default_schedule: ClassVar[Any] = timedelta(days=1)
    timeout_error: ClassVar[type[BaseException]] = AirflowTaskTimeout
    previous_as_airflow_2: ClassVar[bool] = True

    def get_last_dagrun(
        self, session: Any = None, include_externally_triggered: bool = False
    ) -> DagRunView | None:
        """Airflow 2's: the DAG's run with the latest logical date, read from the store now
        (a run a person or a task triggered only with ``include_externally_triggered``);
        None while it has none."""
        return last_dagrun(self.dag_id, session, include_externally_triggered)

    def __init__(self, dag_id: str, description: str | None = None, **kwargs: Any) -> None:
        if description is not None:
            kwargs["description"] = description
        options = dag_kwargs(dag_id, kwargs, self.default_schedule)
        self._given_schedule = options["schedule"]
        super().__init__(dag_id, **options)

    @property
    def schedule_interval(self) -> Any:
        """Airflow 2's attribute, read by files at import: the schedule as the file gave it
        (``"@daily"``, a timedelta, a timetable, None). Airflow 3's DAG has none."""
        return self._given_schedule

    @property
    def task(self) -> Any:
        """``@dag.task`` / ``@dag.task(...)``: ``@task`` whose tasks join this DAG."""
        return functools.partial(task, dag=self)

    def test(
        self,
        logical_date: datetime | None = None,
        run_conf: dict[str, Any] | None = None,
        *,
        execution_date: datetime | None = None,
        **unsupported: Any,
    ) -> Any:
        """Airflow's ``dag.test()``: run the DAG once here, in this process, on a throwaway
        store (``conveyor.testing.run_dag``); the result has the run's ``state``."""
        given = sorted(k for k, v in unsupported.items() if v not in (None, False))
        if given:
            raise DagDefinitionError(
                f"dag.test({', '.join(given)}=...) is not taken by Conveyor: set connections "
                "and variables in the environment (CONVEYOR_CONN_..., CONVEYOR_VAR_...) "
                f"and run `conveyor dags test {self.dag_id}` for the scheduler's path ({DOCS})"
            )
        # conveyor.testing is above this layer; reached like a table target, by name.
        run_dag = importlib.import_module("conveyor.testing").run_dag
        return run_dag(self, conf=run_conf, logical_date=logical_date or execution_date)


#: The context names Airflow 3 removed (its "removed context variables"), each with what to
#: use instead; Airflow 2's DAGs still get them.
AIRFLOW3_REMOVED_CONTEXT: dict[str, str] = {
    "conf": "airflow.configuration.conf in code (the run's conf is dag_run.conf)",
    "execution_date": "logical_date",
    "next_ds": "data_interval_end.strftime('%Y-%m-%d')",
    "next_ds_nodash": "data_interval_end.strftime('%Y%m%d')",
    "next_execution_date": "data_interval_end",
    "prev_ds": "prev_data_interval_start_success.strftime('%Y-%m-%d')",
    "prev_ds_nodash": "prev_data_interval_start_success.strftime('%Y%m%d')",
    "prev_execution_date": "prev_data_interval_start_success",
    "prev_execution_date_success": "prev_data_interval_start_success",
    "tomorrow_ds": "macros.ds_add(ds, 1)",
    "tomorrow_ds_nodash": "macros.ds_add(ds, 1).replace('-', '')",
    "yesterday_ds": "macros.ds_add(ds, -1)",
    "yesterday_ds_nodash": "macros.ds_add(ds, -1).replace('-', '')",
}


def last_dagrun(
    dag_id: str, session: Any = None, include_externally_triggered: bool = False
) -> DagRunView | None:
    """Airflow 2's ``airflow.models.dag.get_last_dagrun``: see ``DAG.get_last_dagrun``."""
    from conveyor.run_views import DagRunView  # the store's reads: at first use
    from conveyor.store.reads import lookups

    store, settings = current_store()
    with store.read() as conn:
        run = lookups.latest_run(conn, dag_id, triggered_too=include_externally_triggered)
    return None if run is None else DagRunView.of(run, store, settings.public_web_url)


class SdkDAG(DAG):
    """Airflow 3's ``DAG``: no schedule unless one is given, none of the context names
    Airflow 3 removed, and no return value kept by a branch that skipped tasks."""

    default_schedule: ClassVar[Any] = None
    removed_context_names: ClassVar[Mapping[str, str]] = AIRFLOW3_REMOVED_CONTEXT
    skipping_branch_keeps_value: ClassVar[bool] = False
    previous_as_airflow_2: ClassVar[bool] = False

    @property
    def schedule_interval(self) -> Any:
        raise AttributeError(
            f"DAG {self.dag_id!r}: Airflow 3 removed schedule_interval: read schedule"
        )

    def get_last_dagrun(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(
            f"DAG {self.dag_id!r}: Airflow 3's DAG has no get_last_dagrun: a task asks "
            "context['ti'].get_previous_dagrun() or get_dr_count(), other code the REST API"
        )


def _dag_decorator(dag_class: type[DAG]) -> Callable[..., Any]:
    def decorator(dag_id: Any = None, **kwargs: Any) -> Any:
        """``@dag`` / ``@dag(...)``: calling the function builds the DAG (Airflow's keywords)."""
        explicit = kwargs.pop("dag_id", None)

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            name = explicit or (dag_id if isinstance(dag_id, str) else func.__name__)
            options = dag_kwargs(name, kwargs, dag_class.default_schedule)
            built: Callable[..., Any] = conveyor.dag(name, **options)(func)

            @functools.wraps(built)
            def build(*args: Any, **kwargs: Any) -> Any:
                made = built(*args, **kwargs)
                made.__class__ = dag_class  # Airflow's methods (``test()``); no state of its own
                return made

            return build

        if callable(dag_id):
            return decorate(dag_id)
        return decorate

    return decorator


dag = _dag_decorator(DAG)
sdk_dag = _dag_decorator(SdkDAG)


def _adapt(made: Any) -> Any:
    """A task function made by Conveyor's decorators, building Airflow-keyword operators."""
    if isinstance(made, TaskFunction):
        made.operator_class = airflow_operator_class(made.operator_class)  # type: ignore[assignment]
        return made
    if isinstance(made, types.FunctionType):  # @task(...) returns a decorator: adapt its result
        return lambda *a, **kw: _adapt(made(*a, **kw))
    return made  # anything else (an object with methods of its own) is left as it is


class _AirflowTask:
    """``@task`` as Airflow files use it: Conveyor's decorator (and its ``.branch`` ...),
    whose tasks also take Airflow's operator keywords (``task_display_name``, ``email`` ...)."""

    def __call__(self, python_callable: Callable[..., Any] | None = None, **options: Any) -> Any:
        return _adapt(conveyor.task(python_callable, **options))

    def bash(self, python_callable: Callable[..., Any] | None = None, **options: Any) -> Any:
        """``@task.bash``: the function returns the shell command to run."""
        if python_callable is not None:
            return _adapt(
                TaskFunction(python_callable, BashTaskOperator, options, decorator="@task.bash")
            )
        return lambda func: _adapt(
            TaskFunction(func, BashTaskOperator, options, decorator="@task.bash")
        )

    #: ``@task.run_if(condition)`` / ``@task.skip_if(condition)`` above a task decorator.
    run_if = staticmethod(run_if)
    skip_if = staticmethod(skip_if)

    def __getattr__(self, name: str) -> Any:
        found = getattr(conveyor.task, name, None)
        if found is None:
            raise AttributeError(f"@task.{name} is not provided by Conveyor (see {DOCS})")
        if not callable(found):
            return found

        @functools.wraps(found)
        def variant(*args: Any, **kwargs: Any) -> Any:
            return _adapt(found(*args, **kwargs))

        return variant


task = _AirflowTask()


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Midnight (UTC) ``n`` days ago, as Airflow 1.10 and 2 computed it."""
    today = datetime.now(UTC).replace(hour=hour, minute=minute, second=second, microsecond=0)
    return today - timedelta(days=n)


def utc_datetime(*args: Any, **kwargs: Any) -> datetime:
    """``airflow.utils.timezone.datetime``: a datetime in UTC unless a tzinfo is given."""
    kwargs.setdefault("tzinfo", UTC)
    return datetime(*args, **kwargs)


#: ``from airflow.providers.common.compat.sdk import timezone``: ``timezone.datetime(...)``.
timezone = types.SimpleNamespace(datetime=utc_datetime, utcnow=utcnow, utc=UTC)


def apply_defaults(func: Callable[..., Any]) -> Callable[..., Any]:
    """Airflow 1.10's decorator for operator ``__init__``: Conveyor applies defaults itself."""
    return func


def cross_downstream(from_tasks: DependencyTarget, to_tasks: DependencyTarget) -> None:
    """Every task of ``from_tasks`` upstream of every task of ``to_tasks``."""
    for upstream in tasks_of(from_tasks, downstream=False):
        upstream.set_downstream(to_tasks)


class BaseHook:
    """``BaseHook.get_connection(conn_id)``: Conveyor's connection of that id."""

    @staticmethod
    def get_connection(conn_id: str) -> Connection:
        return get_connection(conn_id)

    @staticmethod
    def get_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> Any:
        """The hook for the connection's type (``PostgresHook``, ``MySqlHook``, ``SmtpHook``...)."""
        from conveyor.providers.registry import any_hook

        return any_hook(conn_id, hook_params)


#: The type of the context dict, for annotations (``context: Context``).
Context = dict[str, Any]


def _named(states: frozenset[TaskState]) -> frozenset[str | None]:
    """Airflow's values of a set of states: a task instance with no status is None there."""
    return frozenset(None if state is TaskState.NONE else state.value for state in states)


class State:
    """Airflow's ``State``, from Conveyor's lifecycle: one attribute per task state (set
    below, ``State.SUCCESS == "success"``; ``NONE`` is None, as Airflow's), Airflow's named
    sets and the states' colours."""

    NONE = None
    finished = _named(FINISHED)
    unfinished = _named(lifecycle.UNFINISHED)
    failed_states = _named(FAILED_LIKE)
    success_states = _named(lifecycle.SUCCEEDED_LIKE)
    state_color = {
        state.value: shown.colour
        for state, shown in lifecycle.TASK_DISPLAY.items()
        if state is not TaskState.NONE
    }

    @classmethod
    def color(cls, state: str | None) -> str:
        """The colour the UI shows ``state`` in (Airflow's ``State.color``)."""
        return cls.state_color.get(state or "", "white")


for _state in TaskState:
    if _state is not TaskState.NONE:
        setattr(State, _state.name, _state.value)
