"""Small names of Airflow's core that its provider packages import at the top of their
modules (measured on 27 provider wheels, docs/airflow.md "Providers Conveyor does not
ship"): warning and exception classes and a few helpers (the logging mixin and ``NOTSET``
are in ``core_values``). Each behaves as Airflow's does; none reaches Airflow's database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from conveyor.airflow_compat.exceptions import AirflowException

__all__ = [
    "AirflowOptionalProviderFeatureException",
    "AirflowProviderDeprecationWarning",
    "exactly_one",
    "merge_dicts",
    "to_boolean",
]


class AirflowProviderDeprecationWarning(DeprecationWarning):
    """A provider's deprecated argument or class (``warnings.warn(..., category=...)``)."""

    deprecated_provider_since: str | None = None


class AirflowOptionalProviderFeatureException(AirflowException):
    """A provider feature whose optional library is not installed."""


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
