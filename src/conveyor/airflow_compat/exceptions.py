"""Airflow's exception names that have no Conveyor twin of their own.

``AirflowSkipException`` and ``AirflowFailException`` are Conveyor's ``Skip`` and ``Fail``
(table.py); the ones here are plain errors: raised in a task, they fail the try (with
retries), as in Airflow.
"""

from __future__ import annotations

from conveyor.exceptions import AirflowException, NotFoundError

__all__ = [
    "AirflowBadRequest",
    "AirflowException",
    "DagNotFound",
    "DagRunAlreadyExists",
    "DagRunNotFound",
    "ParamValidationError",
    "PoolNotFound",
    "TaskInstanceNotFound",
    "TaskNotFound",
]


class ParamValidationError(AirflowException, ValueError):
    """A param's value does not fit its declared type."""


class DagNotFound(AirflowException, NotFoundError):
    """``trigger_dag`` for a DAG id no DAG file defines (also ``AirflowNotFoundException``,
    as in Airflow)."""


class DagRunAlreadyExists(AirflowException):
    """``trigger_dag`` for a run id (or logical date) the DAG already has a run of."""


class DagRunNotFound(AirflowException, NotFoundError):
    """``get_task_instance`` for a logical date the DAG has no run of."""


class TaskNotFound(AirflowException, NotFoundError):
    """``get_task_instance`` for a task id the DAG does not have."""


class TaskInstanceNotFound(AirflowException, NotFoundError):
    """``get_task_instance`` for a task the run has no instance of (yet)."""


class PoolNotFound(AirflowException, NotFoundError):
    """The local client's ``get_pool`` / ``delete_pool`` for a pool that does not exist."""


class AirflowBadRequest(AirflowException, ValueError):
    """The local client's ``create_pool`` with a bad name or slots."""


class XComNotFound(AirflowException):
    """An XCom a mapped task or a template needed was not pushed."""

    def __init__(self, dag_id: str, task_id: str, key: str) -> None:
        super().__init__()
        self.dag_id, self.task_id, self.key = dag_id, task_id, key

    def __str__(self) -> str:
        where = f"{self.task_id} at {self.dag_id}"
        return f'XComArg result from {where} with key="{self.key}" is not found!'
