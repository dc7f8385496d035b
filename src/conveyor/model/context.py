"""What is open while a DAG file runs: the ``with DAG(...)`` and ``with TaskGroup(...)``
stacks. A task made now joins the innermost DAG and group, takes the group's id prefix and
its ``default_args``.

It sits below the DAG, task and group modules so that each of them can ask what is open
without importing the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from conveyor.model.dag import DAG
    from conveyor.model.task import BaseOperator
    from conveyor.model.task_group import TaskGroup


class DagContext:
    """The stack of DAGs opened with ``with DAG(...)``; tasks join the innermost."""

    _stack: ClassVar[list[DAG]] = []
    #: Every DAG created since the last reset.
    created: ClassVar[list[DAG]] = []
    #: The DAGs used as a context manager (``with DAG(...)``, a ``@dag`` function's call)
    #: since the last reset: a file defines these and the DAGs its globals name.
    entered: ClassVar[list[DAG]] = []

    @classmethod
    def current(cls) -> DAG | None:
        return cls._stack[-1] if cls._stack else None

    @classmethod
    def push(cls, dag: DAG) -> None:
        cls._stack.append(dag)

    @classmethod
    def pop(cls) -> None:
        cls._stack.pop()


class TaskGroupContext:
    """The stack of groups opened with ``with TaskGroup(...)``; tasks join the innermost."""

    _stack: ClassVar[list[TaskGroup]] = []

    @classmethod
    def current(cls, dag: DAG | None = None) -> TaskGroup | None:
        """The innermost open group (of ``dag``, when given)."""
        if not cls._stack:
            return None
        group = cls._stack[-1]
        return group if dag is None or group.dag is dag else None

    @classmethod
    def push(cls, group: TaskGroup) -> None:
        cls._stack.append(group)

    @classmethod
    def pop(cls) -> None:
        cls._stack.pop()


def join_current_group(task: BaseOperator) -> None:
    """Called as a task joins its DAG: it becomes a member of the innermost open group."""
    group = TaskGroupContext.current(task.dag)
    if group is not None:
        group.add(task)
        task.task_group = group


def current_prefix(dag: DAG | None) -> Callable[[str], str]:
    """How a task made now gets its id: prefixed by the innermost open group, if any."""
    group = TaskGroupContext.current(dag)
    return group.child_id if group is not None else (lambda label: label)


def current_default_args(dag: DAG | None) -> dict[str, Any]:
    """The ``default_args`` of the innermost open group (over those of the groups around it)."""
    group = TaskGroupContext.current(dag)
    return group.merged_default_args() if group is not None else {}
