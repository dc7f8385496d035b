"""The ``@task`` decorator: a Python function becomes a task, its return value an XCom.

@task(retries=2)
def extract() -> list[dict]: ...

@task
def load(rows: list[dict]) -> None: ...

load(extract())          # extract >> load, rows = extract's return value
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.dag import DAG, DagContext
from conveyor.model.mapping import PartialTask
from conveyor.model.xcom_arg import XComArg
from conveyor.operators.python import BranchPythonOperator, PythonOperator


def _unique_task_id(base: str, dag: DAG | None) -> str:
    """The naming rule: a function used twice in one DAG gets ids base, base__1, base__2 ..."""
    from conveyor.model.task_group import current_prefix

    full = current_prefix(dag)  # inside a task group, ids are checked with its prefix
    if dag is None or full(base) not in dag.task_dict:
        return base
    n = 1
    while full(f"{base}__{n}") in dag.task_dict:
        n += 1
    return f"{base}__{n}"


class TaskFunction:
    """A decorated function. Calling it inside a DAG adds a task and returns its XComArg."""

    def __init__(
        self,
        func: Callable[..., Any],
        operator_class: type[PythonOperator],
        options: dict[str, Any],
    ) -> None:
        functools.update_wrapper(self, func)
        self.function = func
        self.operator_class = operator_class
        self.options = options

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        options = dict(self.options)
        task_id = options.pop("task_id", None) or self.function.__name__
        if DagContext.current() is None and options.get("dag") is None:
            raise DagDefinitionError(
                f"@task {task_id!r} was called outside a DAG: call it inside "
                "'with DAG(...)' or a function decorated with @dag"
            )
        operator = self.operator_class(
            # The DAG the task will join: an explicit dag= option, else the open one.
            _unique_task_id(task_id, options.get("dag") or DagContext.current()),
            python_callable=self.function,
            op_args=list(args),
            op_kwargs=kwargs,
            **options,
        )
        return XComArg(operator)

    def partial(self, **constants: Any) -> PartialTask:
        """Arguments every instance of a mapped task gets; ``.expand(...)`` maps the rest."""
        options = dict(self.options)
        task_id = options.pop("task_id", None) or self.function.__name__
        dag = options.get("dag") or DagContext.current()
        if dag is None:
            raise DagDefinitionError(
                f"@task {task_id!r} was mapped outside a DAG: call it inside 'with DAG(...)'"
            )
        kwargs = {
            **options,
            "task_id": _unique_task_id(task_id, dag),
            "python_callable": self.function,
            "op_kwargs": constants,
        }
        return PartialTask(self.operator_class, kwargs, expand_into="op_kwargs", returns=XComArg)

    def expand(self, **lists: Any) -> XComArg:
        """One task instance per element of each list; downstream gets the list of results."""
        result: XComArg = self.partial().expand(**lists)
        return result

    def override(self, **options: Any) -> TaskFunction:
        """The same function with other task options, e.g. ``extract.override(task_id="e2")``."""
        return TaskFunction(self.function, self.operator_class, {**self.options, **options})


def _decorator(
    operator_class: type[PythonOperator],
) -> Callable[..., Any]:
    def decorate(python_callable: Callable[..., Any] | None = None, **options: Any) -> Any:
        if python_callable is not None:
            return TaskFunction(python_callable, operator_class, options)
        return lambda func: TaskFunction(func, operator_class, options)

    return decorate


class _TaskDecorator:
    """``@task``, ``@task(...)``, and ``@task.branch``."""

    python = staticmethod(_decorator(PythonOperator))
    branch = staticmethod(_decorator(BranchPythonOperator))

    def __call__(self, python_callable: Callable[..., Any] | None = None, **options: Any) -> Any:
        return self.python(python_callable, **options)


task = _TaskDecorator()
