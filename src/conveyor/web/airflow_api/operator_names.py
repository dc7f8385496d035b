"""A task's operator as Airflow names it: a task made by a decorator is an instance of the
decorator's own operator class there (``@task`` makes a ``_PythonDecoratedOperator``), whose
``operator_name`` is the decorator (``@task``); any other task is its operator's class."""

from __future__ import annotations

from conveyor.serialized import SerializedTask

#: Airflow's operator class of each task decorator Conveyor provides.
DECORATED_CLASSES: dict[str, str] = {
    "@task": "_PythonDecoratedOperator",
    "@task.bash": "_BashDecoratedOperator",
    "@task.branch": "_BranchPythonDecoratedOperator",
    "@task.short_circuit": "_ShortCircuitDecoratedOperator",
    "@task.virtualenv": "_PythonVirtualenvDecoratedOperator",
    "@task.external_python": "_PythonExternalDecoratedOperator",
    "@task.branch_virtualenv": "_BranchPythonVirtualenvDecoratedOperator",
    "@task.branch_external_python": "_BranchExternalPythonDecoratedOperator",
    "@task.sensor": "DecoratedSensorOperator",
}


def operator_class(task: SerializedTask) -> str:
    """Airflow's ``operator`` of a task instance: its operator's class name."""
    decorator = task.decorated_as
    if decorator is not None and decorator in DECORATED_CLASSES:
        return DECORATED_CLASSES[decorator]
    return task.operator_name


def operator_name(task: SerializedTask) -> str:
    """Airflow's ``operator_name``: the decorator that made the task, else its class."""
    return task.decorated_as or task.operator_name
