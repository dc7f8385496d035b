"""Small names of Airflow's core that its provider packages import at the top of their
modules (measured on 27 provider wheels, docs/airflow.md "Providers Conveyor does not
ship"): warning and exception classes, the logging mixin, and a few helpers. Each behaves
as Airflow's does; none reaches Airflow's database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from conveyor.airflow_compat.exceptions import AirflowException

__all__ = [
    "NOTSET",
    "AirflowOptionalProviderFeatureException",
    "AirflowProviderDeprecationWarning",
    "ArgNotSet",
    "LoggingMixin",
    "exactly_one",
    "merge_dicts",
    "to_boolean",
]


class AirflowProviderDeprecationWarning(DeprecationWarning):
    """A provider's deprecated argument or class (``warnings.warn(..., category=...)``)."""

    deprecated_provider_since: str | None = None


class AirflowOptionalProviderFeatureException(AirflowException):
    """A provider feature whose optional library is not installed."""


class ArgNotSet:
    """The type of ``NOTSET``: an argument left out, where None is a value."""

    def __repr__(self) -> str:
        return "NOTSET"

    def __bool__(self) -> bool:
        return False


NOTSET: Any = ArgNotSet()


class LoggingMixin:
    """``self.log``: a logger named after the object's class (module and name), as Airflow
    names them, so a provider's log lines land in the try's log under that name."""

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


def to_boolean(value: str | bool | None) -> bool:
    """A setting's text as a boolean: "t", "true", "y", "yes" and "1" (any case) are true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return value.strip().lower() in ("t", "true", "y", "yes", "1")


def exactly_one(*args: Any) -> bool:
    """Whether exactly one argument is truthy (``exactly_one(a, b)``, not a list of them)."""
    if len(args) == 1 and isinstance(args[0], Iterable) and not isinstance(args[0], str | bytes):
        raise ValueError("exactly_one takes the values themselves: unpack an iterable with *")
    return sum(map(bool, args)) == 1


def merge_dicts(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """``first`` updated with ``second``, nested mappings merged the same way."""
    merged = dict(first)
    for key, value in second.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_dicts(merged[key], value)
        else:
            merged[key] = value
    return merged
