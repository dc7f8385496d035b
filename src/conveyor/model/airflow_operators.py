"""A task's operator class as Airflow names it: a task made by a decorator is an instance of
the decorator's own operator class there (``@task`` makes a ``_PythonDecoratedOperator``);
any other task is its operator's class. The API's ``operator`` field and the
``operator_successes_<operator>`` metrics both say it."""

from __future__ import annotations

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


def airflow_operator_class(decorated_as: str | None, operator_name: str) -> str:
    """The class Airflow would name for a task made by ``decorated_as`` (None: not by a
    decorator) whose own operator is ``operator_name``."""
    if decorated_as is not None and decorated_as in DECORATED_CLASSES:
        return DECORATED_CLASSES[decorated_as]
    return operator_name
