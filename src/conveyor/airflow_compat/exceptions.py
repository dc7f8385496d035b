"""Airflow's exception names that have no Conveyor twin of their own.

``AirflowSkipException`` and ``AirflowFailException`` are Conveyor's ``Skip`` and ``Fail``
(table.py); the ones here are plain errors: raised in a task, they fail the try (with
retries), as in Airflow.
"""

from __future__ import annotations

from conveyor.exceptions import AirflowException, NotFoundError

__all__ = ["AirflowException", "DagNotFound", "DagRunAlreadyExists", "ParamValidationError"]


class ParamValidationError(AirflowException, ValueError):
    """A param's value does not fit its declared type."""


class DagNotFound(AirflowException, NotFoundError):
    """``trigger_dag`` for a DAG id no DAG file defines (also ``AirflowNotFoundException``,
    as in Airflow)."""


class DagRunAlreadyExists(AirflowException):
    """``trigger_dag`` for a run id (or logical date) the DAG already has a run of."""
