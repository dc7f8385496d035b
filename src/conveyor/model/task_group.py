"""Task groups: named, nestable boxes of tasks, for structure and for the graph.

A group changes nothing about how tasks run. It prefixes the ids of the tasks made inside
it (``load.to_db``; nested: ``etl.load.to_db``), gives them its ``default_args``, and stands
for its tasks in ``>>``: ``group >> task`` puts every leaf of the group (a task with nothing
downstream inside it) upstream of the task; ``task >> group`` puts the task upstream of every
root of the group (a task with nothing upstream inside it). The UI draws each group as a box
that collapses into one node.

    with TaskGroup("extract", tooltip="pull from the sources") as extract:
        a = EmptyOperator(task_id="a")      # id "extract.a"
        b = EmptyOperator(task_id="b")
    extract >> EmptyOperator(task_id="load")

    @task_group
    def transform(rows):                     # id "transform"; tasks "transform.<id>"
        ...
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.context import DagContext, TaskGroupContext
from conveyor.model.dependencies import DependencyMixin
from conveyor.model.group_mapping import building_mapped_group, group_arguments, kwargs_arguments

if TYPE_CHECKING:
    from conveyor.model.dag import DAG
    from conveyor.model.task import BaseOperator

GROUP_ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,200}$")


class TaskGroup(DependencyMixin):
    """A group of tasks (and groups) within a DAG; see the module's description."""

    def __init__(
        self,
        group_id: str,
        *,
        tooltip: str = "",
        prefix_group_id: bool = True,
        default_args: dict[str, Any] | None = None,
        dag: DAG | None = None,
        parent_group: TaskGroup | None = None,
    ) -> None:
        if not isinstance(group_id, str) or not GROUP_ID_PATTERN.match(group_id):
            raise DagDefinitionError(
                f"invalid group_id {group_id!r}: use letters, digits, '_' or '-' "
                "(at most 200 characters; '.' joins nested group ids)"
            )
        parent = parent_group or TaskGroupContext.current(dag)
        found = dag or (parent.dag if parent else None) or DagContext.current()
        if found is None:
            raise DagDefinitionError(
                f"TaskGroup {group_id!r} was made outside a DAG: make it inside "
                "'with DAG(...)' or a function decorated with @dag"
            )
        self.dag: DAG = found
        self.parent = parent
        self.label = group_id
        self.group_id = parent.child_id(group_id) if parent else group_id
        self.tooltip = tooltip
        self.prefix_group_id = bool(prefix_group_id)
        self.default_args = dict(default_args or {})
        self.children: dict[str, BaseOperator | TaskGroup] = {}  # in the order they were made
        registry = groups_of(self.dag)
        if self.group_id in registry:
            raise DagDefinitionError(
                f"DAG {self.dag.dag_id!r} already has a task group {self.group_id!r}; "
                "group ids must be unique within a DAG"
            )
        if self.group_id in self.dag.task_dict:
            raise DagDefinitionError(
                f"DAG {self.dag.dag_id!r} has a task {self.group_id!r}: a group cannot "
                "have the id of a task"
            )
        registry[self.group_id] = self
        if parent is not None:
            parent.children[self.group_id] = self

    # -- ids and defaults ------------------------------------------------------------------

    @property
    def dag_id(self) -> str:
        """The id of the group's DAG (as Airflow's groups have it)."""
        return self.dag.dag_id

    def child_id(self, label: str) -> str:
        """The id a task or group made inside this group gets."""
        return f"{self.group_id}.{label}" if self.prefix_group_id else label

    def merged_default_args(self) -> dict[str, Any]:
        """default_args of this group over those of the groups around it."""
        outer = self.parent.merged_default_args() if self.parent else {}
        return {**outer, **self.default_args}

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> TaskGroup:
        TaskGroupContext.push(self)
        return self

    def __exit__(self, *exc: object) -> None:
        TaskGroupContext.pop()

    # -- members ---------------------------------------------------------------------------

    def add(self, task: BaseOperator) -> None:
        self.children[task.task_id] = task

    def tasks(self) -> Iterator[BaseOperator]:
        """Every task in this group and the groups inside it."""
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child.tasks()
            else:
                yield child

    @property
    def roots(self) -> list[BaseOperator]:
        """The tasks of the group with no upstream task inside it (what ``x >> group`` feeds)."""
        inside = {t.task_id for t in self.tasks()}
        return [t for t in self.tasks() if not t.upstream_task_ids & inside]

    @property
    def leaves(self) -> list[BaseOperator]:
        """The tasks of the group with no downstream task inside it (``group >> x`` follows).

        A teardown at the end stands aside: the work before it is the leaf, so what follows
        the group does not wait for the cleanup (setups are not followed back through it)."""
        members = {t.task_id: t for t in self.tasks()}
        found: dict[str, BaseOperator] = {}

        def more_work_below(task: BaseOperator, besides: str) -> bool:
            return any(
                d in members and d != besides and not members[d].is_teardown
                for d in task.downstream_task_ids
            )

        def work_above(teardown: BaseOperator) -> Iterator[BaseOperator]:
            for up_id in sorted(teardown.upstream_task_ids & members.keys()):
                up = members[up_id]
                if up.is_teardown:
                    yield from work_above(up)
                elif not up.is_setup and not more_work_below(up, teardown.task_id):
                    yield up

        for task in members.values():
            if task.downstream_task_ids & members.keys():
                continue
            for leaf in work_above(task) if task.is_teardown else [task]:
                found.setdefault(leaf.task_id, leaf)
        return list(found.values())

    # -- dependencies ----------------------------------------------------------------------

    def ends(self, downstream: bool) -> list[BaseOperator]:
        """The roots (the group is downstream) or the leaves (it is upstream)."""
        found = self.roots if downstream else self.leaves
        if not found:
            raise DagDefinitionError(f"task group {self.group_id!r} has no tasks to depend on")
        return found

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        return self.ends(downstream)

    def __repr__(self) -> str:
        return f"<TaskGroup {self.group_id}>"


def groups_of(dag: DAG) -> dict[str, TaskGroup]:
    """The DAG's task groups by id, in the order they were made."""
    return dag.task_groups


def task_group(
    group_id: str | Callable[..., Any] | None = None, **group_kwargs: Any
) -> Callable[..., Any]:
    """Decorate a function that makes tasks: each call makes a group of them.

    The group's id is the function's name unless given, with ``__1``, ``__2``... when the
    function is called again in one DAG; its tooltip is the docstring's first line. A call
    returns what the function returns, or the group if it returns nothing, for ``>>``.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def build(*args: Any, **kwargs: Any) -> Any:
            dag = group_kwargs.get("dag") or DagContext.current()
            base = group_id if isinstance(group_id, str) else func.__name__
            options = dict(group_kwargs)
            if func.__doc__ and "tooltip" not in options:
                options["tooltip"] = inspect.cleandoc(func.__doc__).splitlines()[0]
            with TaskGroup(_unique_group_label(base, dag), **options) as group:
                result = func(*args, **kwargs)
            return group if result is None else result

        return GroupFunction(build, func)

    if callable(group_id):  # used bare: @task_group
        func, group_id = group_id, None
        return decorate(func)
    return decorate


class GroupFunction:
    """A ``@task_group`` function: call it for one group, or map it with ``expand`` /
    ``expand_kwargs`` (after ``partial`` for constant arguments); see
    conveyor.model.group_mapping."""

    def __init__(
        self,
        build: Callable[..., Any],
        func: Callable[..., Any],
        constants: dict[str, Any] | None = None,
    ) -> None:
        functools.update_wrapper(self, func)
        self._build = build
        self._func = func
        self._constants = dict(constants or {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._build(*args, **{**self._constants, **kwargs})

    def partial(self, **constants: Any) -> GroupFunction:
        return GroupFunction(self._build, self._func, {**self._constants, **constants})

    def expand(self, **lists: Any) -> Any:
        if not lists:
            raise DagDefinitionError(f"task group {self._func.__name__!r}: expand() needs a list")
        arguments = group_arguments(self._func.__name__, lists)
        with building_mapped_group(next(iter(arguments.values())).source):
            return self._build(**self._constants, **arguments)

    def expand_kwargs(self, items: Any) -> Any:
        arguments = kwargs_arguments(self._func.__name__, items)
        with building_mapped_group(items):
            return self._build(**self._constants, **arguments)


def _unique_group_label(base: str, dag: DAG | None) -> str:
    if dag is None:
        return base
    parent = TaskGroupContext.current(dag)
    taken = groups_of(dag)

    def full(label: str) -> str:
        return parent.child_id(label) if parent else label

    if full(base) not in taken:
        return base
    n = 1
    while full(f"{base}__{n}") in taken:
        n += 1
    return f"{base}__{n}"
