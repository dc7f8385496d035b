"""``XComArg``: the value a task will return, passed to another task before it exists.

Passing one to an operator (or a ``@task`` function) adds the dependency; at run time the
worker replaces it with the upstream task's stored value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conveyor.model.task import BaseOperator, DependencyMixin

RETURN_VALUE = "return_value"


class XComArg(DependencyMixin):
    def __init__(self, operator: BaseOperator, key: str = RETURN_VALUE) -> None:
        self._operator = operator
        self.key = key

    @property
    def operator(self) -> BaseOperator:
        return self._operator

    def __getitem__(self, key: str) -> XComArg:
        """``extract()["rows"]``: the XCom pushed under another key."""
        return XComArg(self._operator, key)

    def __repr__(self) -> str:
        return f"XComArg({self._operator.task_id!r}, key={self.key!r})"


def find_xcom_args(value: Any) -> list[XComArg]:
    """Every XComArg nested in a value made of lists, tuples and dicts."""
    if isinstance(value, XComArg):
        return [value]
    if isinstance(value, list | tuple | set):
        return [arg for item in value for arg in find_xcom_args(item)]
    if isinstance(value, dict):
        return [arg for item in value.values() for arg in find_xcom_args(item)]
    return []


def resolve_xcom_args(value: Any, pull: Callable[[str, str], Any]) -> Any:
    """Replace each XComArg in a value by ``pull(task_id, key)``."""
    if isinstance(value, XComArg):
        return pull(value.operator.task_id, value.key)
    if isinstance(value, list):
        return [resolve_xcom_args(item, pull) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve_xcom_args(item, pull) for item in value)
    if isinstance(value, dict):
        return {k: resolve_xcom_args(v, pull) for k, v in value.items()}
    return value
