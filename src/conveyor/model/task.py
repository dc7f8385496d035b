"""The task definition: ``BaseOperator``, and the mapped task ``Op.partial(...).expand(...)``
makes of it.

A task is a definition (what to run, how to retry); each run of its DAG makes a task instance
of it, which lives in the store. Arguments left out of an operator's call are filled from the
DAG's ``default_args`` when the operator's ``__init__`` accepts them. ``>>`` and ``<<`` come
from conveyor.model.dependencies; what a mapped task becomes at run time is in
conveyor.model.mapping.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from conveyor.exceptions import DagDefinitionError, TaskDeferred
from conveyor.model.context import (
    DagContext,
    current_default_args,
    current_prefix,
    join_current_group,
)
from conveyor.model.datasets import AssetAlias, Dataset, as_outlets
from conveyor.model.dependencies import DependencyMixin, DependencyTarget, tasks_of
from conveyor.model.setup_teardown import enter_scope, exit_scope
from conveyor.model.trigger_rules import TriggerRule
from conveyor.model.xcom_arg import XComArg, find_xcom_args

if TYPE_CHECKING:
    from conveyor.model.dag import DAG
    from conveyor.model.task_group import TaskGroup

log = logging.getLogger(__name__)


class WeightRule(StrEnum):
    """Airflow's ``WeightRule``: a try's priority is its task's priority_weight plus those
    of every task downstream of it (Airflow's default), upstream of it, or neither."""

    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"


#: The weight rules' names, Airflow's default first.
WEIGHT_RULES = tuple(rule.value for rule in WeightRule)

#: A task or DAG callback: called with the context dict (a notifier is one too).
Callback = Callable[[dict[str, Any]], Any]

TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")

#: The pool of tasks that name none; the store creates it with 128 slots.
DEFAULT_POOL = "default_pool"
#: A task's owner when its file names none, as Airflow's ``[operators] default_owner``.
DEFAULT_OWNER = "airflow"

# Arguments of BaseOperator that the serialized DAG carries; the scheduler reads only these.
SCHEDULING_FIELDS = (
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "trigger_rule",
    "queue",
    "priority_weight",
    "depends_on_past",
    "pool",
    "pool_slots",
)


#: Per class: signatures do not change, and a DAG builds many operators of each class.
_ACCEPTED: dict[type, frozenset[str]] = {}


def _accepted_arguments(cls: type) -> frozenset[str]:
    cached = _ACCEPTED.get(cls)
    if cached is not None:
        return cached
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        init = getattr(init, "__wrapped__", init)
        names.update(
            name
            for name, p in inspect.signature(init).parameters.items()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name != "self"
        )
    _ACCEPTED[cls] = frozenset(names)
    return _ACCEPTED[cls]


def _apply_defaults(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap an operator's __init__ so that default_args fill what the caller left out."""

    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_defaults_applied", False):
            init(self, *args, **kwargs)  # a subclass's __init__ calling super().__init__
            return
        self._defaults_applied = True  # type: ignore[attr-defined]
        with _inside_group(kwargs):
            dag = kwargs.get("dag") or DagContext.current()
            defaults = dict(dag.default_args) if dag is not None else {}
            defaults.update(current_default_args(dag))  # an open task group's, over the DAG's
            defaults.update(kwargs.pop("default_args", None) or {})
            accepted = _accepted_arguments(type(self))
            for key, value in defaults.items():
                if key in accepted and key not in kwargs:
                    kwargs[key] = value
            init(self, *args, **kwargs)
        _depend_on_templated_xcom_args(self)

    return wrapper


def _inside_group(kwargs: dict[str, Any]) -> contextlib.AbstractContextManager[Any]:
    """``task_group=`` given to an operator (as Airflow takes it): the task is made as if
    inside ``with group:``, so it gets the group's id prefix, default_args and DAG."""
    group = kwargs.pop("task_group", None)
    if group is None:
        return contextlib.nullcontext()
    # A group opens like a DAG's context and names its children (the model's layers keep
    # task_group out of this module's imports).
    if not callable(getattr(group, "child_id", None)) or not hasattr(group, "__enter__"):
        raise DagDefinitionError(
            f"task {kwargs.get('task_id', '?')!r}: task_group= must be a TaskGroup, "
            f"got {type(group).__name__} {group!r}"
        )
    if kwargs.get("dag") is None:
        kwargs["dag"] = group.dag
    opened: contextlib.AbstractContextManager[Any] = group
    return opened


def _depend_on_templated_xcom_args(task: BaseOperator) -> None:
    """An XComArg given as a templated field's value makes its task upstream of this one
    (the worker replaces it with the value when it renders the field)."""
    if task.dag is None:
        return
    fields = [getattr(task, name, None) for name in task.template_fields]
    for arg in find_xcom_args(fields):
        if arg.operator is not task:
            arg.operator.set_downstream(task)


def retry_delay_for(
    base: timedelta, exponential: bool, cap: timedelta | None, try_number: int
) -> timedelta:
    """How long to wait after try ``try_number`` (1 for the first) failed."""
    delay = base
    if exponential:
        # 2**(n-1) times the base delay; the exponent is capped so huge try numbers can't overflow.
        delay = base * (2 ** min(try_number - 1, 30))
    if cap is not None:
        delay = min(delay, cap)
    return delay


def _as_timedelta(value: timedelta | float | int | None, name: str) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise DagDefinitionError(f"{name} must be a timedelta or a number of seconds, got {value!r}")


def _retries(value: object, task_id: str) -> int:
    """``retries`` as Airflow reads it: None is no retry, a value of another type is read by
    ``int()`` (``"3"``, ``2.0``, ``True``) with a warning, and a negative number is no retry
    (Airflow keeps it and never retries); only what ``int()`` cannot read is refused."""
    if value is None:
        return 0
    if type(value) is int:
        return max(value, 0)
    try:
        read: int = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise DagDefinitionError(
            f"task {task_id!r}: retries must be a whole number, got {value!r}"
        ) from None
    log.warning("task %r: retries %r read as %d", task_id, value, read)
    return max(read, 0)


def _limit(value: int | None, task_id: str, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be a whole number >= 1 or None, got {value!r}"
        )
    return value


def _task_date(value: datetime | None, task_id: str, name: str) -> datetime | None:
    """A task's own start_date / end_date, aware (a naive one is read in UTC, and the DAG
    reads it again in its timezone when the task joins it)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise DagDefinitionError(f"task {task_id!r}: {name} must be a datetime, got {value!r}")
    return value


def _optional_text(value: str | None, task_id: str, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise DagDefinitionError(f"task {task_id!r}: {name} must be text, got {value!r}")


def as_weight_rule(value: Any, task_id: str) -> str:
    """``weight_rule`` as one of Airflow's three rules (its ``WeightRule`` enum, or its
    name); Airflow's default is "downstream"."""
    if value is None:
        return WEIGHT_RULES[0]
    name = getattr(value, "value", value)
    if isinstance(name, str) and name in WEIGHT_RULES:
        return name
    raise DagDefinitionError(
        f"task {task_id!r}: weight_rule={value!r} is not supported: Conveyor takes "
        f"{', '.join(repr(r) for r in WEIGHT_RULES)} (or Airflow's WeightRule); a custom "
        "PriorityWeightStrategy is not run: give the task a priority_weight with one of them"
    )


#: While a mapped task group's function runs, how an operator made there becomes mapped over
#: the group (innermost group last; conveyor.model.group_mapping opens and closes them).
GroupMapper = Callable[[type["BaseOperator"], dict[str, Any]], "BaseOperator"]
GROUP_MAPPERS: list[GroupMapper] = []


class BaseOperator(DependencyMixin):
    """One task of a DAG. Subclasses implement :meth:`execute`.

    ``template_fields`` names the attributes rendered with Jinja before ``execute`` runs.
    """

    template_fields: ClassVar[Sequence[str]] = ()
    #: A templated value ending in one of these names a template file to read and render.
    template_ext: Sequence[str] = ()
    #: Shown in the UI and the graph.
    ui_color: ClassVar[str] = "#ffffff"
    #: A branching task returns the ids of the direct downstream tasks to follow.
    is_branch: ClassVar[bool] = False
    #: Set by ``execute`` to skip downstream tasks once the try succeeded: "direct" (trigger
    #: rules decide beyond them) or "all" (see ShortCircuitOperator).
    skip_downstream: str | None = None
    #: The innermost group the task was made in (None: the DAG's top level), as Airflow's
    #: ``task.task_group``; set as the task joins its DAG.
    task_group: TaskGroup | None = None
    #: The decorator that made the task from a function (``@task``, ``@task.bash`` ...), as
    #: Airflow names it; None for an operator built directly.
    decorated_as: str | None = None
    #: What the DAG file asks of this task that Airflow carries out and Conveyor does not
    #: (:meth:`refuse_when_run`): each try fails with it before the task's code runs.
    refused_when_run: str | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Inside a mapped task group every task is mapped over the group, as in Airflow: an
        # operator made there comes back as a MappedOperator (whose __init__ Python then
        # skips, it being no instance of ``cls``). Positional arguments have no name to map.
        if GROUP_MAPPERS and not args and "task_id" in kwargs and _mappable(cls):
            return GROUP_MAPPERS[-1](cls, kwargs)
        return super().__new__(cls)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _apply_defaults(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(
        self,
        task_id: str,
        *,
        dag: DAG | None = None,
        retries: int | None = 0,
        retry_delay: timedelta | float = timedelta(seconds=300),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        execution_timeout: timedelta | float | None = None,
        trigger_rule: TriggerRule | str = TriggerRule.ALL_SUCCESS,
        queue: str = "default",
        priority_weight: int = 1,
        depends_on_past: bool = False,
        pool: str = DEFAULT_POOL,
        pool_slots: int = 1,
        doc: str | None = None,
        owner: str | None = None,
        on_success_callback: Callback | list[Callback] | None = None,
        on_failure_callback: Callback | list[Callback] | None = None,
        on_retry_callback: Callback | list[Callback] | None = None,
        on_execute_callback: Callback | list[Callback] | None = None,
        on_skipped_callback: Callback | list[Callback] | None = None,
        sla: timedelta | float | None = None,
        outlets: list[Dataset | AssetAlias] | None = None,
        inlets: list[Dataset | AssetAlias] | None = None,
        max_active_tis_per_dag: int | None = None,
        max_active_tis_per_dagrun: int | None = None,
        wait_for_downstream: bool = False,
        weight_rule: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        task_display_name: str | None = None,
        map_index_template: str | None = None,
    ) -> None:
        if isinstance(task_id, str) and TASK_ID_PATTERN.match(task_id):
            task_id = current_prefix(dag or DagContext.current())(task_id)  # "group.task"
        if not isinstance(task_id, str) or not TASK_ID_PATTERN.match(task_id):
            raise DagDefinitionError(
                f"invalid task_id {task_id!r}: use letters, digits, '_', '.' or '-' "
                "(at most 250 characters)"
            )
        self.task_id = task_id
        self.retries = _retries(retries, task_id)
        self.retry_delay = _as_timedelta(retry_delay, f"task {task_id!r}: retry_delay")
        self.retry_exponential_backoff = bool(retry_exponential_backoff)
        self.max_retry_delay = _as_timedelta(max_retry_delay, f"task {task_id!r}: max_retry_delay")
        self.execution_timeout = _as_timedelta(
            execution_timeout, f"task {task_id!r}: execution_timeout"
        )
        try:
            self.trigger_rule = TriggerRule(trigger_rule)
        except ValueError:
            choices = ", ".join(r.value for r in TriggerRule)
            raise DagDefinitionError(
                f"task {task_id!r}: unknown trigger_rule {trigger_rule!r}; "
                f"expected one of {choices}"
            ) from None
        self.queue = queue
        self.priority_weight = int(priority_weight)
        self.weight_rule = as_weight_rule(weight_rule, task_id)
        # Airflow: waiting for the previous run's downstream implies waiting for its own.
        self.wait_for_downstream = bool(wait_for_downstream)
        self.depends_on_past = bool(depends_on_past) or self.wait_for_downstream
        self.max_active_tis_per_dag = _limit(
            max_active_tis_per_dag, task_id, "max_active_tis_per_dag"
        )
        self.max_active_tis_per_dagrun = _limit(
            max_active_tis_per_dagrun, task_id, "max_active_tis_per_dagrun"
        )
        # The runs whose logical date falls outside them get no instance of the task (Airflow).
        self.start_date = _task_date(start_date, task_id, "start_date")
        self.end_date = _task_date(end_date, task_id, "end_date")
        self.task_display_name = _optional_text(task_display_name, task_id, "task_display_name")
        # Rendered per mapped instance with its try's context at the end of execute.
        self.map_index_template = _optional_text(map_index_template, task_id, "map_index_template")
        if not isinstance(pool, str) or not pool.strip():
            raise DagDefinitionError(f"task {task_id!r}: pool must be a pool's name, got {pool!r}")
        if isinstance(pool_slots, bool) or not isinstance(pool_slots, int) or pool_slots < 1:
            raise DagDefinitionError(
                f"task {task_id!r}: pool_slots must be a whole number >= 1, got {pool_slots!r}"
            )
        self.pool = pool  # the try holds pool_slots of it while queued or running
        self.pool_slots = pool_slots
        self.doc = doc
        self.owner = owner
        # Called with the context in the try's process once its outcome is recorded.
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.on_retry_callback = on_retry_callback
        # A try that ends skipped (it raised Skip), not a task skipped without running.
        self.on_skipped_callback = on_skipped_callback
        # Called with the context just before each try's execute (templates rendered).
        self.on_execute_callback = on_execute_callback
        self.sla = _as_timedelta(sla, f"task {task_id!r}: sla")
        # Datasets this task updates when it succeeds (conveyor.model.datasets).
        # Aliases among them name, at run time, datasets of the task's choosing.
        self.outlets = as_outlets(outlets, f"task {task_id!r}: outlets")
        # Datasets whose events the task reads (``inlet_events``); they schedule nothing.
        self.inlets = as_outlets(inlets, f"task {task_id!r}: inlets")
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        # Setup / teardown roles (as_setup, as_teardown); a teardown's own failure fails the
        # run only with on_failure_fail_dagrun.
        self.is_setup = False
        self.is_teardown = False
        self.on_failure_fail_dagrun = False
        self.dag: DAG | None = None
        dag = dag or DagContext.current()
        if dag is not None:
            dag.add_task(self)
            join_current_group(self)

    def refuse_when_run(self, message: str) -> None:
        """A keyword or value Airflow carries out for this task and Conveyor does not: the
        DAG file still loads, as on Airflow (its other tasks and DAGs with it), and a try of
        this task fails with ``message`` at its first real use, before its code runs."""
        self.refused_when_run = (
            message if self.refused_when_run is None else f"{self.refused_when_run}; {message}"
        )

    # -- running -------------------------------------------------------------------------

    def execute(self, context: dict[str, Any]) -> Any:
        """Do the work of one try. The return value is stored as the task's XCom."""
        raise NotImplementedError(f"{type(self).__name__} does not implement execute()")

    def on_kill(self) -> None:
        """Called in the try's process when the try is stopped from outside (marked, cleared,
        the run timed out) or runs past its ``execution_timeout``, as in Airflow: cancel what
        ``execute`` started elsewhere (a container, a pod, a query). Does nothing here."""

    def defer(
        self,
        *,
        trigger: Any,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> None:
        """End this try as ``deferred``: a triggerer runs ``trigger``, and on its first event
        a later try calls ``method_name(context, event=..., **kwargs)`` instead of
        ``execute``. The try's worker slot and pool slot are free meanwhile."""
        limit = _as_timedelta(timeout, f"task {self.task_id!r}: defer timeout")
        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=limit)

    # -- setup and teardown ----------------------------------------------------------------

    def as_setup(self) -> BaseOperator:
        """Mark this task as a setup: teardowns after it run only if it succeeded."""
        if self.is_teardown:
            raise DagDefinitionError(f"task {self.task_id!r} is a teardown; it cannot be a setup")
        self.is_setup = True
        return self

    def as_teardown(
        self,
        *,
        setups: DependencyTarget | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> BaseOperator:
        """Mark this task as a teardown of ``setups`` (made its upstream): it runs once its
        upstream tasks are done, even if they failed, provided a setup succeeded; its own
        failure fails the run only with ``on_failure_fail_dagrun=True``."""
        if self.is_setup:
            raise DagDefinitionError(f"task {self.task_id!r} is a setup; it cannot be a teardown")
        self.is_teardown = True
        self.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = bool(on_failure_fail_dagrun)
        if setups is not None:
            for setup in tasks_of(setups, downstream=False):
                if not setup.is_setup:
                    setup.as_setup()
                setup.set_downstream(self)
        return self

    def __enter__(self) -> BaseOperator:
        """``with teardown_task:`` (or ``with setup >> teardown:``): tasks made in the block
        go between the task's setups and itself (see conveyor.model.setup_teardown)."""
        enter_scope(self)
        return self

    def __exit__(self, *exc: object) -> None:
        exit_scope(self, failed=exc[0] is not None)

    # -- dependencies (>>, << and set_*stream: conveyor.model.dependencies) ---------------

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        return [self]

    @classmethod
    def partial(cls, **kwargs: Any) -> PartialTask:
        """The constant arguments of a mapped task; ``.expand(...)`` names the lists."""
        return PartialTask(cls, kwargs)

    @property
    def output(self) -> Any:
        """This task's return value, for another task's arguments (an ``XComArg``)."""
        return XComArg(self)

    @property
    def operator_name(self) -> str:
        return type(self).__name__

    # -- relatives, as Airflow names them --------------------------------------------------

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        """The ids of the tasks right before (``upstream``) or after this one."""
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    def get_direct_relatives(self, upstream: bool = False) -> list[BaseOperator]:
        """The tasks right before (``upstream``) or after this one, of its DAG."""
        return self._tasks(self.get_direct_relative_ids(upstream))

    def get_flat_relative_ids(self, upstream: bool = False) -> set[str]:
        """The ids of every task before (``upstream``) or after this one, however far."""
        found: set[str] = set()
        tasks = self.dag.task_dict if self.dag is not None else {}
        waiting = list(self.get_direct_relative_ids(upstream))
        while waiting:
            task_id = waiting.pop()
            if task_id not in found:
                found.add(task_id)
                if task_id in tasks:
                    waiting.extend(tasks[task_id].get_direct_relative_ids(upstream))
        return found

    def get_flat_relatives(self, upstream: bool = False) -> list[BaseOperator]:
        return self._tasks(self.get_flat_relative_ids(upstream))

    @property
    def downstream_list(self) -> list[BaseOperator]:
        return self.get_direct_relatives(upstream=False)

    @property
    def upstream_list(self) -> list[BaseOperator]:
        return self.get_direct_relatives(upstream=True)

    def _tasks(self, task_ids: set[str]) -> list[BaseOperator]:
        tasks = self.dag.task_dict if self.dag is not None else {}
        return [tasks[task_id] for task_id in sorted(task_ids) if task_id in tasks]

    def __repr__(self) -> str:
        return f"<{self.operator_name} {self.task_id}>"


# BaseOperator's own __init__ fills defaults too, for subclasses that do not define one.
BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)  # type: ignore[method-assign]


# -- mapped tasks: Op.partial(...).expand(...) ---------------------------------------------

#: Where an expanded argument's list comes from, as the serialized DAG tells the scheduler.
ExpandSource = list[Any] | tuple[Any, ...] | XComArg
#: The name ``expand_kwargs``' list goes by in a mapped task's ``expand_input``.
KWARGS_INPUT = "<expand_kwargs>"
#: The name, in the ``expand_input`` of a task of a mapped task group that takes none of the
#: group's arguments, of the list the group expands over: it sets how many instances there
#: are, and gives the operator no argument.
GROUP_INDEX_INPUT = "<group index>"


class MappedOperator(BaseOperator):
    """A task that becomes one instance per element (or combination) of its expanded lists.

    It carries the scheduling fields (retries, queue, trigger rule, ...) of the operator it
    stands for; each instance runs a fresh ``operator_class`` built by :func:`unmap`.
    """

    operator_class: type[BaseOperator]
    partial_kwargs: dict[str, Any]
    expand_input: dict[str, ExpandSource]
    #: ``op_kwargs`` for @task functions (expanded names are the function's arguments).
    expand_into: str | None
    #: Instance i takes element i of every list (they must be as long), instead of the cross
    #: product: the tasks of a mapped task group (conveyor.model.group_mapping).
    zip_lists: bool = False
    #: The tasks of one mapped task group share this key (the id of its first task): instance
    #: i of such a task waits for instance i of the group's tasks upstream of it, and reads
    #: their output at index i. None outside a mapped group.
    mapped_group: str | None = None
    #: ``expand_kwargs(...)``: the one list (under :data:`KWARGS_INPUT`) holds a dict of
    #: arguments per instance.
    kwargs_mapped: bool = False

    @property
    def operator_name(self) -> str:
        return self.operator_class.__name__

    def execute(self, context: dict[str, Any]) -> Any:
        raise DagDefinitionError(
            f"mapped task {self.task_id!r} runs as its instances; use unmap() to build one"
        )


class PartialTask:
    """The constant arguments of a mapped task, waiting for :meth:`expand`."""

    def __init__(
        self,
        operator_class: type[BaseOperator],
        kwargs: dict[str, Any],
        *,
        expand_into: str | None = None,
        returns: Callable[[MappedOperator], Any] | None = None,
    ) -> None:
        task_id = kwargs.get("task_id")
        if not isinstance(task_id, str):
            raise DagDefinitionError(
                f"{operator_class.__name__}.partial() needs task_id=..., got {task_id!r}"
            )
        self.operator_class = operator_class
        self.kwargs = kwargs
        self.expand_into = expand_into
        self._returns = returns

    def expand_zipped(self, **lists: ExpandSource) -> Any:
        """One instance per index of the lists, which must be as long as one another."""
        return self.expand(_zip=True, **lists)

    def expand_kwargs(self, items: ExpandSource) -> Any:
        """One instance per dict of ``items`` (a list of dicts, or an upstream task's output
        that is one): each dict gives that instance's arguments."""
        task_id = self.kwargs["task_id"]
        if isinstance(items, XComArg):
            pass
        elif isinstance(items, list | tuple):
            for item in items:
                if not isinstance(item, dict | XComArg):
                    raise DagDefinitionError(
                        f"task {task_id!r}: expand_kwargs() needs dicts (or task outputs that "
                        f"are dicts), got {type(item).__name__} {item!r}"
                    )
        else:
            raise DagDefinitionError(
                f"task {task_id!r}: expand_kwargs() needs a list of dicts or the output of an "
                f"upstream task, got {type(items).__name__} {items!r}"
            )
        mapped = _mapped_operator(
            self.operator_class, self.kwargs, {KWARGS_INPUT: items}, self.expand_into
        )
        mapped.kwargs_mapped = True
        return self._returns(mapped) if self._returns else mapped

    def expand(self, _zip: bool = False, **lists: ExpandSource) -> Any:
        """One instance per element of each list (the cross product when there are several)."""
        task_id = self.kwargs["task_id"]
        if not lists:
            raise DagDefinitionError(f"task {task_id!r}: expand() needs at least one list")
        accepted = _accepted_arguments(self.operator_class)
        constants = self.kwargs.get(self.expand_into, {}) if self.expand_into else self.kwargs
        for name, source in lists.items():
            if not isinstance(source, list | tuple | XComArg):
                raise DagDefinitionError(
                    f"task {task_id!r}: expand({name}=...) needs a list or the output of an "
                    f"upstream task, got {type(source).__name__} {source!r}"
                )
            if name in constants:
                raise DagDefinitionError(
                    f"task {task_id!r}: {name!r} is given to both partial() and expand()"
                )
            if self.expand_into is None and (name not in accepted or name == "task_id"):
                raise DagDefinitionError(
                    f"task {task_id!r}: {self.operator_class.__name__} has no argument "
                    f"{name!r} to expand"
                )
        mapped = _mapped_operator(self.operator_class, self.kwargs, lists, self.expand_into)
        mapped.zip_lists = _zip
        return self._returns(mapped) if self._returns else mapped


def _mappable(cls: type[BaseOperator]) -> bool:
    """An operator class a mapped task group maps (not the mapped task itself, nor the bare
    base class, which a MappedOperator would be an instance of)."""
    return cls is not BaseOperator and not issubclass(cls, MappedOperator)


def _mapped_operator(
    operator_class: type[BaseOperator],
    kwargs: dict[str, Any],
    lists: dict[str, ExpandSource],
    expand_into: str | None,
) -> MappedOperator:
    kwargs = dict(kwargs)
    with _inside_group(kwargs):
        return _mapped_operator_here(operator_class, kwargs, lists, expand_into)


def _mapped_operator_here(
    operator_class: type[BaseOperator],
    kwargs: dict[str, Any],
    lists: dict[str, ExpandSource],
    expand_into: str | None,
) -> MappedOperator:
    dag = kwargs.pop("dag", None) or DagContext.current()
    # Defaults are taken now: the instances are built where no DAG context is open.
    accepted = _accepted_arguments(operator_class)
    defaults = dict(dag.default_args) if dag is not None else {}
    defaults.update(current_default_args(dag))  # an open task group's, over the DAG's
    defaults.update(kwargs.pop("default_args", None) or {})
    for key, value in defaults.items():
        if key in accepted and key not in kwargs:
            kwargs[key] = value
    task_id = kwargs.pop("task_id")
    base = {k: v for k, v in kwargs.items() if k in _accepted_arguments(BaseOperator)}
    mapped = MappedOperator(task_id, dag=dag, **base)
    mapped.operator_class = operator_class
    mapped.partial_kwargs = kwargs
    mapped.expand_input = dict(lists)
    mapped.expand_into = expand_into
    if "python_callable" in kwargs:
        mapped.python_callable = kwargs["python_callable"]  # type: ignore[attr-defined]
    for arg in find_xcom_args([kwargs, list(lists.values())]):
        arg.operator.set_downstream(mapped)
    return mapped
