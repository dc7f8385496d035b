"""The task definition: ``BaseOperator`` and the dependency operators ``>>`` and ``<<``.

A task is a definition (what to run, how to retry); each run of its DAG makes a task instance
of it, which lives in the store. Arguments left out of an operator's call are filled from the
DAG's ``default_args`` when the operator's ``__init__`` accepts them.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Union

from conveyor.exceptions import DagDefinitionError
from conveyor.model.datasets import Dataset, as_datasets
from conveyor.model.trigger_rules import TriggerRule

if TYPE_CHECKING:
    from conveyor.model.dag import DAG
    from conveyor.model.edges import Label
    from conveyor.model.mapping import PartialTask
    from conveyor.model.task_group import TaskGroup

#: A task or DAG callback: called with the context dict (a notifier is one too).
Callback = Callable[[dict[str, Any]], Any]

TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")

#: The pool of tasks that name none; the store creates it with 128 slots.
DEFAULT_POOL = "default_pool"

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
        from conveyor.model.dag import DagContext
        from conveyor.model.task_group import current_default_args

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


def _depend_on_templated_xcom_args(task: BaseOperator) -> None:
    """An XComArg given as a templated field's value makes its task upstream of this one
    (the worker replaces it with the value when it renders the field)."""
    if task.dag is None:
        return
    from conveyor.model.xcom_arg import find_xcom_args

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


class BaseOperator:
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _apply_defaults(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(
        self,
        task_id: str,
        *,
        dag: DAG | None = None,
        retries: int = 0,
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
        sla: timedelta | float | None = None,
        outlets: list[Dataset] | None = None,
    ) -> None:
        from conveyor.model.dag import DagContext
        from conveyor.model.task_group import current_prefix, join_current_group

        if isinstance(task_id, str) and TASK_ID_PATTERN.match(task_id):
            task_id = current_prefix(dag or DagContext.current())(task_id)  # "group.task"
        if not isinstance(task_id, str) or not TASK_ID_PATTERN.match(task_id):
            raise DagDefinitionError(
                f"invalid task_id {task_id!r}: use letters, digits, '_', '.' or '-' "
                "(at most 250 characters)"
            )
        self.task_id = task_id
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise DagDefinitionError(
                f"task {task_id!r}: retries must be a whole number >= 0, got {retries!r}"
            )
        self.retries = retries
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
        self.depends_on_past = bool(depends_on_past)
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
        self.sla = _as_timedelta(sla, f"task {task_id!r}: sla")
        # Datasets this task updates when it succeeds (conveyor.model.datasets).
        self.outlets = as_datasets(outlets or [], f"task {task_id!r}: outlets")
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

    # -- running -------------------------------------------------------------------------

    def execute(self, context: dict[str, Any]) -> Any:
        """Do the work of one try. The return value is stored as the task's XCom."""
        raise NotImplementedError(f"{type(self).__name__} does not implement execute()")

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
            for setup in _tasks_of(setups, downstream=False):
                if not setup.is_setup:
                    setup.as_setup()
                setup.set_downstream(self)
        return self

    def __enter__(self) -> BaseOperator:
        """``with teardown_task:`` (or ``with setup >> teardown:``): tasks made in the block
        go between the task's setups and itself (see conveyor.model.setup_teardown)."""
        from conveyor.model.setup_teardown import enter_scope

        enter_scope(self)
        return self

    def __exit__(self, *exc: object) -> None:
        from conveyor.model.setup_teardown import exit_scope

        exit_scope(self, failed=exc[0] is not None)

    # -- dependencies --------------------------------------------------------------------

    def set_downstream(
        self, other: DependencyTarget | Label, edge_modifier: Label | None = None
    ) -> None:
        from conveyor.model.edges import Label

        if isinstance(other, Label):  # a >> Label("...") >> b: the label links on to b
            other.add_upstream(self)
            return
        for task in _tasks_of(other, downstream=True):
            self._link(self, task, edge_modifier)

    def set_upstream(
        self, other: DependencyTarget | Label, edge_modifier: Label | None = None
    ) -> None:
        from conveyor.model.edges import Label

        if isinstance(other, Label):  # b << Label("...") << a
            other.add_downstream(self)
            return
        for task in _tasks_of(other, downstream=False):
            self._link(task, self, edge_modifier)

    @staticmethod
    def _link(
        upstream: BaseOperator, downstream: BaseOperator, edge_modifier: Label | None = None
    ) -> None:
        dag = upstream.dag or downstream.dag
        if dag is None:
            raise DagDefinitionError(
                f"cannot link {upstream.task_id!r} >> {downstream.task_id!r}: "
                "neither task belongs to a DAG"
            )
        for task in (upstream, downstream):
            if task.dag is None:
                dag.add_task(task)
            elif task.dag is not dag:
                raise DagDefinitionError(
                    f"cannot link tasks of different DAGs: {upstream.task_id!r} "
                    f"({upstream.dag and upstream.dag.dag_id}) >> {downstream.task_id!r} "
                    f"({downstream.dag and downstream.dag.dag_id})"
                )
        dag.add_edge(upstream.task_id, downstream.task_id)
        if edge_modifier is not None:
            dag.edge_labels.setdefault(downstream.task_id, {})[upstream.task_id] = (
                edge_modifier.label
            )

    def __rshift__(self, other: DependencyTarget) -> DependencyTarget:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: DependencyTarget) -> DependencyTarget:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: DependencyTarget) -> BaseOperator:
        self.set_upstream(other)  # [a, b] >> self
        return self

    def __rlshift__(self, other: DependencyTarget) -> BaseOperator:
        self.set_downstream(other)  # [a, b] << self
        return self

    @classmethod
    def partial(cls, **kwargs: Any) -> PartialTask:
        """The constant arguments of a mapped task; ``.expand(...)`` names the lists."""
        from conveyor.model.mapping import PartialTask

        return PartialTask(cls, kwargs)

    @property
    def output(self) -> Any:
        """This task's return value, for another task's arguments (an ``XComArg``)."""
        from conveyor.model.xcom_arg import XComArg

        return XComArg(self)

    @property
    def operator_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.operator_name} {self.task_id}>"


class DependencyMixin:
    """Something that stands for a task in ``>>`` chains (an XComArg, say)."""

    @property
    def operator(self) -> BaseOperator:  # pragma: no cover - interface
        raise NotImplementedError

    def __rshift__(self, other: DependencyTarget) -> DependencyTarget:
        self.operator.set_downstream(other)
        return other

    def __lshift__(self, other: DependencyTarget) -> DependencyTarget:
        self.operator.set_upstream(other)
        return other

    def __rrshift__(self, other: DependencyTarget) -> DependencyMixin:
        self.operator.set_upstream(other)
        return self

    def __rlshift__(self, other: DependencyTarget) -> DependencyMixin:
        self.operator.set_downstream(other)
        return self

    def as_setup(self) -> DependencyMixin:
        self.operator.as_setup()
        return self

    def __enter__(self) -> DependencyMixin:
        self.operator.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.operator.__exit__(*exc)

    def as_teardown(
        self,
        *,
        setups: DependencyTarget | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> DependencyMixin:
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self


# A task group stands for its roots or leaves (a string: task_group imports this module).
DependencyTarget = Union[BaseOperator, DependencyMixin, "TaskGroup", Iterable[Any]]


def _tasks_of(target: DependencyTarget, downstream: bool = True) -> list[BaseOperator]:
    """The tasks a dependency target stands for; a task group stands for its roots when it
    is downstream, and for its leaves when it is upstream."""
    from conveyor.model.task_group import TaskGroup

    if isinstance(target, BaseOperator):
        return [target]
    if isinstance(target, DependencyMixin):
        return [target.operator]
    if isinstance(target, TaskGroup):
        return target.ends(downstream)
    if isinstance(target, str | bytes):
        raise DagDefinitionError(f"cannot depend on {target!r}: expected a task, not a string")
    try:
        items = list(target)
    except TypeError:
        raise DagDefinitionError(f"cannot depend on {target!r}: expected a task") from None
    return [task for item in items for task in _tasks_of(item, downstream)]


def chain(*targets: DependencyTarget | Label) -> None:
    """``chain(a, b, [c, d], e)`` is ``a >> b >> [c, d] >> e``; a ``Label`` may stand
    between two of them: ``chain(a, Label("ok"), b)``."""
    from conveyor.model.edges import Label

    for up, down in itertools.pairwise(targets):
        if isinstance(up, Label):
            up >> down
            continue
        for upstream in _tasks_of(up, downstream=False):
            upstream.set_downstream(down)


# BaseOperator's own __init__ fills defaults too, for subclasses that do not define one.
BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)  # type: ignore[method-assign]
