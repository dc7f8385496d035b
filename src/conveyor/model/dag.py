"""The DAG definition: a named graph of tasks with a schedule.

``DAG`` works as a context manager (tasks created inside join it) and through the ``@dag``
decorator. Cycles and duplicate task ids are refused when they are written, with the tasks
named, so the author sees the mistake at the line that made it.
"""

from __future__ import annotations

import functools
import heapq
import inspect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from jinja2 import Undefined

from conveyor.exceptions import CycleError, DagDefinitionError, TaskTimeout
from conveyor.model.access_control import normalize_access_control
from conveyor.model.context import DagContext
from conveyor.model.datasets import Dataset
from conveyor.model.deadlines import DeadlineAlert, as_alerts
from conveyor.model.params import DagParam, split_params
from conveyor.model.schedules import Schedule, schedule_from_arg
from conveyor.model.task import BaseOperator, Callback, _as_timedelta
from conveyor.model.timetable_protocol import as_schedule
from conveyor.model.trigger_rules import TriggerRule

if TYPE_CHECKING:
    from conveyor.model.task_group import TaskGroup

DAG_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
UTC = ZoneInfo("UTC")
#: The trigger rules a fail_fast DAG's tasks may have (Airflow's): the default, and a
#: teardown's own.
FAIL_FAST_RULES = frozenset(
    {TriggerRule.ALL_SUCCESS.value, TriggerRule.ALL_DONE_SETUP_SUCCESS.value}
)


def _as_timezone(value: str | tzinfo | None, start_date: datetime | None) -> tzinfo:
    if value is None:
        # getattr: a start_date that is not a datetime is reported by _aware, not here.
        start_tz = getattr(start_date, "tzinfo", None)
        if isinstance(start_tz, ZoneInfo):
            return start_tz
        return UTC
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (KeyError, ValueError):
            raise DagDefinitionError(f"unknown time zone {value!r}") from None
    return value


class DAG:
    """A pipeline: tasks, their dependencies and when to run them."""

    #: Context names its tasks and callbacks do not get, each with what to use instead (an
    #: Airflow 3 file's DAG: the names Airflow 3 removed, so a template that still uses one
    #: fails as it does there).
    removed_context_names: ClassVar[Mapping[str, str]] = {}
    #: What a try of its tasks raises inside when it passes its ``execution_timeout`` (an
    #: Airflow file's DAG: Airflow's class, which ``except Exception`` does not catch).
    timeout_error: ClassVar[type[BaseException]] = TaskTimeout
    #: Whether a branch or short circuit that skipped tasks keeps its return value as its
    #: XCom (False for an Airflow 3 file's DAG, as there: see ``model/branch_value.py``).
    skipping_branch_keeps_value: ClassVar[bool] = True
    #: Whether ``ti.get_previous_ti(state)`` and ``get_previous_dagrun`` look as Airflow 2
    #: did (True for an Airflow 2 file's DAG: the run before, ``state`` the run's, and with
    #: ``catchup`` the scheduled run before) or as Airflow 3 does (the task's last instance
    #: before, ``state`` the instance's).
    previous_as_airflow_2: ClassVar[bool] = False

    #: ``dag >> task`` (and ``task << dag``, ``task >> dag``) makes the task join the DAG, as
    #: in Airflow 1.10 (``model/dependencies.py``).
    joins_tasks_by_shift: ClassVar[bool] = True

    def __init__(
        self,
        dag_id: str,
        *,
        schedule: str | timedelta | Schedule | Sequence[Dataset] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        catchup: bool = False,
        default_args: dict[str, Any] | None = None,
        max_active_runs: int = 16,
        max_active_tasks: int = 16,
        params: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        timezone: str | tzinfo | None = None,
        doc_md: str | None = None,
        on_success_callback: Callback | list[Callback] | None = None,
        on_failure_callback: Callback | list[Callback] | None = None,
        sla_miss_callback: Callback | list[Callback] | None = None,
        deadline: DeadlineAlert | Sequence[DeadlineAlert] | None = None,
        dagrun_timeout: timedelta | float | None = None,
        template_searchpath: str | Sequence[str] | None = None,
        user_defined_macros: dict[str, Any] | None = None,
        user_defined_filters: dict[str, Callable[..., Any]] | None = None,
        render_template_as_native_obj: bool = False,
        template_undefined: type[Any] | None = None,
        dag_display_name: str | None = None,
        fail_fast: bool = False,
        is_paused_upon_creation: bool | None = None,
        access_control: dict[str, Any] | None = None,
        auto_register: bool = True,
    ) -> None:
        if not isinstance(dag_id, str) or not DAG_ID_PATTERN.match(dag_id):
            raise DagDefinitionError(
                f"invalid dag_id {dag_id!r}: use letters, digits, '_', '.' or '-' "
                "(at most 250 characters)"
            )
        self.dag_id = dag_id
        default_args = dict(default_args or {})
        # The DAG-level keys people put in default_args (Airflow's idiom) count for the DAG.
        if start_date is None:
            start_date = default_args.get("start_date")
        if end_date is None:
            end_date = default_args.get("end_date")
        params = {**(params or {}), **(default_args.pop("params", None) or {})}
        self.timezone = _as_timezone(timezone, start_date)
        self.schedule: Schedule = schedule_from_arg(as_schedule(schedule), self.timezone)
        self.start_date = self._aware(start_date)
        self.end_date = self._aware(end_date)
        self.catchup = bool(catchup)
        self.default_args = default_args
        for name, value in (
            ("max_active_runs", max_active_runs),
            ("max_active_tasks", max_active_tasks),
        ):
            if not isinstance(value, int) or value < 1:
                raise DagDefinitionError(f"DAG {dag_id!r}: {name} must be >= 1, got {value!r}")
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks
        # Plain defaults (what templates and tasks see) and the specs of Param(...) params.
        # As on Airflow, a DAG no schedule runs may hold params that only a person's trigger
        # makes valid (a default of None for a string): checked when it is triggered.
        self.params, self.param_specs = split_params(
            dag_id, dict(params or {}), check_defaults=self.schedule.can_be_scheduled
        )
        required = [name for name, spec in self.param_specs.items() if spec["required"]]
        if required and self.schedule.can_be_scheduled:
            raise DagDefinitionError(
                f"DAG {dag_id!r}: params {', '.join(required)} have no default, so only a "
                "person can give them: use schedule=None, or give each a default"
            )
        self.tags = list(tags or [])
        self.description = description
        self.doc_md = doc_md
        # Run once per run when it ends (see conveyor.callbacks), with the run's context.
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.sla_miss_callback = sla_miss_callback
        # Deadline alerts: each run's need-by times, worked out as the run is made.
        self.deadline: list[DeadlineAlert] = as_alerts(dag_id, deadline)
        self.dagrun_timeout = _as_timedelta(dagrun_timeout, f"DAG {dag_id!r}: dagrun_timeout")
        # Template files are found here, then in the DAG file's folder (model.templating).
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = list(template_searchpath or [])
        self.user_defined_macros = dict(user_defined_macros or {})
        self.user_defined_filters = dict(user_defined_filters or {})
        # Rendered fields become the Python values their text spells (model.templating).
        self.render_template_as_native_obj = bool(render_template_as_native_obj)
        # What a name no one defined renders as: an error (jinja2.StrictUndefined, the
        # default), or e.g. jinja2.Undefined's empty text, as in Airflow.
        if template_undefined is not None and not (
            isinstance(template_undefined, type) and issubclass(template_undefined, Undefined)
        ):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: template_undefined must be a jinja2 Undefined class "
                f"(jinja2.Undefined, jinja2.StrictUndefined...), got {template_undefined!r}"
            )
        self.template_undefined = template_undefined
        if dag_display_name is not None and not isinstance(dag_display_name, str):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: dag_display_name must be text, got {dag_display_name!r}"
            )
        self.dag_display_name = dag_display_name
        # A failed task stops the run (engine/fail_fast.py); tasks keep the default trigger rule.
        self.fail_fast = bool(fail_fast)
        # Whether the DAG is paused when first registered; None: the setting
        # dags_are_paused_at_creation decides. Later parses never change a DAG's pause state.
        if is_paused_upon_creation is not None and not isinstance(is_paused_upon_creation, bool):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: is_paused_upon_creation must be True, False or None, "
                f"got {is_paused_upon_creation!r}"
            )
        self.is_paused_upon_creation = is_paused_upon_creation
        # Which named roles may read or edit this DAG (web/dag_access.py enforces it).
        self.access_control = normalize_access_control(dag_id, access_control)
        self.task_dict: dict[str, BaseOperator] = {}
        #: Edge labels (Label): downstream task id -> {upstream task id: label}.
        self.edge_labels: dict[str, dict[str, str]] = {}
        #: Task groups by id, in the order they were made (conveyor.model.task_group).
        self.task_groups: dict[str, TaskGroup] = {}
        #: Where the DAG was defined; set by the loader.
        self.fileloc: str | None = None
        #: Used as ``with DAG(...)``, the file defines it even if no global names it.
        self.auto_register = bool(auto_register)
        DagContext.created.append(self)

    def aware(self, value: datetime | None) -> datetime | None:
        """``value`` in UTC; a naive one is read in the DAG's timezone."""
        return self._aware(value)

    def _aware(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise DagDefinitionError(f"DAG {self.dag_id!r}: expected a datetime, got {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.timezone)
        return value.astimezone(UTC)

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> DAG:
        DagContext.push(self)
        return self

    def __exit__(self, *exc: object) -> None:
        DagContext.pop()
        if self.auto_register:
            DagContext.entered.append(self)

    # -- tasks -----------------------------------------------------------------------------

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    @property
    def owner(self) -> str:
        """``{{ dag.owner }}``: its tasks' owners, each once, comma separated; a task without
        one is owned by "airflow", Airflow's default owner."""
        return ", ".join(dict.fromkeys(task.owner or "airflow" for task in self.tasks))

    def get_task(self, task_id: str) -> BaseOperator:
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise DagDefinitionError(f"DAG {self.dag_id!r} has no task {task_id!r}") from None

    def add_task(self, task: BaseOperator) -> None:
        existing = self.task_dict.get(task.task_id)
        if existing is task:
            return
        if existing is not None:
            raise DagDefinitionError(
                f"DAG {self.dag_id!r} already has a task {task.task_id!r} "
                f"({existing.operator_name}); task ids must be unique within a DAG"
            )
        if task.dag is not None and task.dag is not self:
            raise DagDefinitionError(
                f"task {task.task_id!r} already belongs to DAG {task.dag.dag_id!r}"
            )
        task.dag = self
        self.task_dict[task.task_id] = task
        self.check_fail_fast(task)

    def check_fail_fast(self, task: BaseOperator) -> None:
        """As Airflow: a fail_fast DAG's tasks keep the default trigger rule (a teardown's
        own rule aside)."""
        rule = str(getattr(task.trigger_rule, "value", task.trigger_rule))
        if self.fail_fast and rule not in FAIL_FAST_RULES:
            raise DagDefinitionError(
                f"DAG {self.dag_id!r}: task {task.task_id!r} has trigger_rule="
                f"{rule!r}, but a fail_fast DAG's tasks can only have the "
                f"default trigger rule {TriggerRule.ALL_SUCCESS.value!r}: drop fail_fast=True "
                "or the task's trigger_rule"
            )

    def add_edge(self, upstream_id: str, downstream_id: str) -> None:
        """Add upstream >> downstream, refusing an edge that would close a cycle."""
        if upstream_id == downstream_id:
            raise CycleError(f"cycle in DAG {self.dag_id!r}: {upstream_id} depends on itself")
        path = self._path(downstream_id, upstream_id)
        if path is not None:
            cycle = " >> ".join([upstream_id, *path])
            raise CycleError(f"cycle in DAG {self.dag_id!r}: {cycle}")
        self.task_dict[upstream_id].downstream_task_ids.add(downstream_id)
        self.task_dict[downstream_id].upstream_task_ids.add(upstream_id)

    def _path(self, start: str, goal: str) -> list[str] | None:
        """A downstream path from start to goal, if there is one (depth first)."""
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen = {start}
        while stack:
            node, path = stack.pop()
            if node == goal:
                return path
            for nxt in sorted(self.task_dict[node].downstream_task_ids):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    def topological_order(self) -> list[str]:
        """Task ids, every task after all of its upstream tasks (stable by definition order)."""
        # The earliest-defined ready task goes next. Never follow set iteration order here: it
        # changes with PYTHONHASHSEED, and this order feeds the serialized DAG and its version
        # hash, so an unchanged file parsed in a new process would make a new version.
        ids = self.task_ids
        position = {tid: i for i, tid in enumerate(ids)}
        indegree = {tid: len(t.upstream_task_ids) for tid, t in self.task_dict.items()}
        ready = [position[tid] for tid, n in indegree.items() if n == 0]  # already a heap
        order: list[str] = []
        while ready:
            tid = ids[heapq.heappop(ready)]
            order.append(tid)
            for nxt in self.task_dict[tid].downstream_task_ids:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, position[nxt])
        return order

    def __iter__(self) -> Iterator[BaseOperator]:
        return iter(self.task_dict.values())

    def __repr__(self) -> str:
        return f"<DAG {self.dag_id}>"


def dag(dag_id: str | Callable[..., Any] | None = None, **dag_kwargs: Any) -> Callable[..., Any]:
    """Decorate a function that builds tasks; calling it returns the DAG.

    The function's own parameters become the DAG's params (their defaults, or the values
    the call gives), and the function is called with a ``DagParam`` for each: a task given
    one sees the run's ``params[name]`` at run time (the conf's value, else the default), as
    in Airflow.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., DAG]:
        @functools.wraps(func)
        def build(*args: Any, **kwargs: Any) -> DAG:
            bound = inspect.signature(func).bind_partial(*args, **kwargs)
            bound.apply_defaults()
            named = {
                name: value
                for name, value in bound.arguments.items()
                if bound.signature.parameters[name].kind
                not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            }
            params = {**named, **(dag_kwargs.get("params") or {})}
            options = {**dag_kwargs, "params": params}
            if func.__doc__ and "description" not in options:
                options["description"] = inspect.cleandoc(func.__doc__).splitlines()[0]
            name = dag_id if isinstance(dag_id, str) else func.__name__
            with DAG(name, **options) as new_dag:
                given = dict(bound.arguments)
                for param in named:
                    given[param] = DagParam(param, params[param])
                func(**_as_keywords(bound.signature, given))
            return new_dag

        return build

    if callable(dag_id):  # used bare: @dag
        func, dag_id = dag_id, None
        return decorate(func)
    return decorate


def _as_keywords(signature: inspect.Signature, given: dict[str, Any]) -> dict[str, Any]:
    """Bound arguments as keywords for a call (``**kwargs`` spread out again); a function
    with ``*args`` gets those only when no DagParam needs its name (they go first)."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise DagDefinitionError(
                    f"a @dag function's *{name} cannot be given: name its parameters"
                )
        else:
            out[name] = value
    return out
