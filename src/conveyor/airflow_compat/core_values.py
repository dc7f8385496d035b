"""Airflow's types and constants that DAG files and libraries use at import: real values.

A constant read in a class body (``ID_LEN`` in a column width), a type in an annotation or a
named tuple built by hand must be the real thing, not a stand-in that refuses at use: these
are small enough to give as they are.
"""

from __future__ import annotations

import enum
import logging
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_LOGGING_CONFIG",
    "ID_LEN",
    "NOTSET",
    "STANDARD_PROVIDER_VERSION",
    "TASK_SDK_VERSION",
    "ArgNotSet",
    "DagRunType",
    "LoggingMixin",
    "TaskInstanceKey",
    "is_arg_set",
]

#: The Task SDK and standard provider releases that go with the Airflow release Conveyor
#: implements (``configuration.AIRFLOW_VERSION``): their packages' ``__version__``.
TASK_SDK_VERSION = "1.3.2"
STANDARD_PROVIDER_VERSION = "1.21.0"

#: The width of Airflow's id columns; libraries size their own checks with it.
ID_LEN = 250


class ArgNotSet:
    """The type of ``NOTSET``: an argument not given, where None is a value."""

    def __repr__(self) -> str:
        return "NOTSET"

    @staticmethod
    def is_arg_set(value: Any) -> bool:
        return not isinstance(value, ArgNotSet)


#: An argument not given (Airflow's sentinel, compared with ``is``).
NOTSET = ArgNotSet()


def is_arg_set(value: Any) -> bool:
    """Whether ``value`` was given (is not ``NOTSET``)."""
    return not isinstance(value, ArgNotSet)


class DagRunType(enum.StrEnum):
    """How a run came to be; the values are Conveyor's run types, which are Airflow's."""

    BACKFILL_JOB = "backfill"
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    OPERATOR_TRIGGERED = "operator_triggered"
    ASSET_TRIGGERED = "asset_triggered"
    ASSET_MATERIALIZATION = "asset_materialization"
    DATASET_TRIGGERED = "dataset_triggered"  # Airflow 2's name of asset-triggered runs

    def __str__(self) -> str:
        return str(self.value)

    def generate_run_id(self, *, suffix: str) -> str:
        """``scheduled__<suffix>``: a run id of this type."""
        return f"{self.value}__{suffix}"

    @staticmethod
    def from_run_id(run_id: str) -> DagRunType:
        """The type a run id starts with; a run id of no known type is a manual run's."""
        for run_type in DagRunType:
            if run_id and run_id.startswith(f"{run_type.value}__"):
                return run_type
        return DagRunType.MANUAL


class TaskInstanceKey(NamedTuple):
    """What names one task instance try, as Airflow's key does."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int = 1
    map_index: int = -1

    @property
    def primary(self) -> tuple[str, str, str, int]:
        """The key without the try number."""
        return self.dag_id, self.task_id, self.run_id, self.map_index

    def with_try_number(self, try_number: int) -> TaskInstanceKey:
        return self._replace(try_number=try_number)


class LoggingMixin:
    """``self.log``: a logger named after the class (module and name), as Airflow's mixin
    gives, so a provider's log lines land in the try's log under that name."""

    _log: logging.Logger | None = None
    _logger_name: str | None = None

    @classmethod
    def logger(cls) -> logging.Logger:
        return logging.getLogger(cls._logger_name or f"{cls.__module__}.{cls.__name__}")

    @property
    def log(self) -> logging.Logger:
        if self._log is None:
            self._log = self.logger()
        return self._log


#: A ``logging.config.dictConfig`` dict in the shape teams copy and extend (their
#: ``log_config.py``); Conveyor's own log handling does not read it.
DEFAULT_LOGGING_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "airflow": {"format": "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"}
    },
    "filters": {},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "airflow",
            "stream": "ext://sys.stdout",
        },
        "task": {
            "class": "logging.StreamHandler",
            "formatter": "airflow",
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "airflow.task": {"handlers": ["task"], "level": "INFO", "propagate": True},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
}
