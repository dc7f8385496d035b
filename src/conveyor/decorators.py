"""The ``@task`` decorator: a Python function becomes a task, its return value an XCom.

@task(retries=2)
def extract() -> list[dict]: ...

@task
def load(rows: list[dict]) -> None: ...

load(extract())          # extract >> load, rows = extract's return value
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.context import DagContext, current_prefix
from conveyor.model.dag import DAG
from conveyor.model.group_mapping import made_in_group, split_mapped
from conveyor.model.task import BaseOperator, MappedOperator, PartialTask
from conveyor.model.xcom_arg import XComArg
from conveyor.operators.python import BranchPythonOperator, PythonOperator
from conveyor.operators.short_circuit import ShortCircuitOperator
from conveyor.operators.virtualenv import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from conveyor.sensors.python import PythonSensor

#: ("setup", None) or ("teardown", on_failure_fail_dagrun).
Role = tuple[str, bool | None]


def _unique_task_id(base: str, dag: DAG | None) -> str:
    """The naming rule: a function used twice in one DAG gets ids base, base__1, base__2 ..."""

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
        operator_class: type[PythonOperator] | type[PythonSensor],
        options: dict[str, Any],
        *,
        role: Role | None = None,
        decorator: str = "@task",
    ) -> None:
        functools.update_wrapper(self, func)
        self.function = func
        self.operator_class = operator_class
        self.options = options
        #: The decorator's name as Airflow spells it (``@task.branch``): the tasks record it.
        self.decorator = decorator
        #: ("setup",) or ("teardown", on_failure_fail_dagrun): the task's role when called.
        self.role = role

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        options = dict(self.options)
        task_id = options.pop("task_id", None) or self.function.__name__
        if DagContext.current() is None and options.get("dag") is None:
            raise DagDefinitionError(
                f"@task {task_id!r} was called outside a DAG: call it inside "
                "'with DAG(...)' or a function decorated with @dag"
            )
        mapped = self._in_mapped_group(args, kwargs)
        if mapped is not None:
            return mapped
        operator = self.operator_class(
            # The DAG the task will join: an explicit dag= option, else the open one. By
            # keyword, so that a mapped task group maps it (BaseOperator.__new__).
            task_id=_unique_task_id(task_id, options.get("dag") or DagContext.current()),
            python_callable=self.function,
            op_args=list(args),
            op_kwargs=kwargs,
            **options,
        )
        if self.role is not None and self.role[0] == "setup":
            operator.as_setup()
        elif self.role is not None:
            operator.as_teardown(on_failure_fail_dagrun=self.role[1])
        return self._output(operator)

    def _output(self, operator: BaseOperator) -> XComArg:
        """The task's return value, the task marked as made by this decorator."""
        operator.decorated_as = self.decorator
        return XComArg(operator)

    def _in_mapped_group(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> XComArg | None:
        """A call inside a mapped task group, with one of its mapped arguments: the task
        becomes mapped, index by index (conveyor.model.group_mapping); else None."""
        try:
            bound = inspect.signature(self.function).bind_partial(*args, **kwargs).arguments
        except TypeError:
            return None  # the ordinary call reports the wrong arguments
        constants, lists = split_mapped(dict(bound))
        if not lists:
            return None
        if self.role is not None:
            raise DagDefinitionError(
                f"@{self.role[0]} {self.function.__name__!r} cannot be mapped in a task group"
            )
        result: XComArg = self.partial(**constants).expand_zipped(**lists)
        assert isinstance(result.operator, MappedOperator)
        made_in_group(result.operator)
        return result

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
        return PartialTask(
            self.operator_class, kwargs, expand_into="op_kwargs", returns=self._output
        )

    def expand(self, **lists: Any) -> XComArg:
        """One task instance per element of each list; downstream gets the list of results."""
        result: XComArg = self.partial().expand(**lists)
        return result

    def expand_kwargs(self, items: Any) -> XComArg:
        """One task instance per dict of ``items``: that instance's function arguments."""
        result: XComArg = self.partial().expand_kwargs(items)
        return result

    def override(self, **options: Any) -> TaskFunction:
        """The same function with other task options, e.g. ``extract.override(task_id="e2")``."""
        return TaskFunction(
            self.function,
            self.operator_class,
            {**self.options, **options},
            role=self.role,
            decorator=self.decorator,
        )


def _decorator(
    operator_class: type[PythonOperator] | type[PythonSensor], name: str
) -> Callable[..., Any]:
    def decorate(python_callable: Callable[..., Any] | None = None, **options: Any) -> Any:
        if python_callable is not None:
            return TaskFunction(python_callable, operator_class, options, decorator=name)
        return lambda func: TaskFunction(func, operator_class, options, decorator=name)

    return decorate


def _with_role(role: Role, target: Callable[..., Any]) -> TaskFunction:
    if isinstance(target, TaskFunction):  # @setup over @task(...) or @task.bash ...
        return TaskFunction(
            target.function,
            target.operator_class,
            target.options,
            role=role,
            decorator=target.decorator,
        )
    if not callable(target):
        raise DagDefinitionError(f"@{role[0]} decorates a function, got {target!r}")
    return TaskFunction(target, PythonOperator, {}, role=role)


def setup(python_callable: Callable[..., Any]) -> TaskFunction:
    """``@setup``: a task that prepares what later tasks use; its teardowns run only if it
    succeeded."""
    return _with_role(("setup", None), python_callable)


def teardown(
    python_callable: Callable[..., Any] | None = None, *, on_failure_fail_dagrun: bool = False
) -> Any:
    """``@teardown`` or ``@teardown(on_failure_fail_dagrun=True)``: a task that cleans up
    after its setups' work, run even when that work failed; its own failure fails the run
    only with ``on_failure_fail_dagrun``."""
    role: Role = ("teardown", on_failure_fail_dagrun)
    if python_callable is not None:
        return _with_role(role, python_callable)
    return lambda func: _with_role(role, func)


class _TaskDecorator:
    """``@task``, ``@task(...)``, ``@task.branch``, ``@task.setup``, ``@task.teardown`` ..."""

    python = staticmethod(_decorator(PythonOperator, "@task"))
    branch = staticmethod(_decorator(BranchPythonOperator, "@task.branch"))
    short_circuit = staticmethod(_decorator(ShortCircuitOperator, "@task.short_circuit"))
    virtualenv = staticmethod(_decorator(PythonVirtualenvOperator, "@task.virtualenv"))
    external_python = staticmethod(_decorator(ExternalPythonOperator, "@task.external_python"))
    branch_virtualenv = staticmethod(
        _decorator(BranchPythonVirtualenvOperator, "@task.branch_virtualenv")
    )
    branch_external_python = staticmethod(
        _decorator(BranchExternalPythonOperator, "@task.branch_external_python")
    )
    #: The function is the poke: truthy (or a PokeReturnValue that is done) ends the wait.
    sensor = staticmethod(_decorator(PythonSensor, "@task.sensor"))
    setup = staticmethod(setup)
    teardown = staticmethod(teardown)

    def __call__(self, python_callable: Callable[..., Any] | None = None, **options: Any) -> Any:
        return self.python(python_callable, **options)


task = _TaskDecorator()
