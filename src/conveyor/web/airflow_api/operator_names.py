"""A task's operator as Airflow names it: a task made by a decorator is an instance of the
decorator's own operator class there (``@task`` makes a ``_PythonDecoratedOperator``), whose
``operator_name`` is the decorator (``@task``); any other task is its operator's class."""

from __future__ import annotations

from conveyor.model.airflow_operators import DECORATED_CLASSES, airflow_operator_class
from conveyor.serialized import SerializedTask

__all__ = ["DECORATED_CLASSES", "operator_class", "operator_name"]


def operator_class(task: SerializedTask) -> str:
    """Airflow's ``operator`` of a task instance: its operator's class name."""
    return airflow_operator_class(task.decorated_as, task.operator_name)


def operator_name(task: SerializedTask) -> str:
    """Airflow's ``operator_name``: the decorator that made the task, else its class."""
    return task.decorated_as or task.operator_name
