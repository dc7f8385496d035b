"""``XComArg``: the value a task will return, passed to another task before it exists.

Passing one to an operator (or a ``@task`` function) adds the dependency; at run time the
worker replaces it with the upstream task's stored value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.exceptions import TaskError
from conveyor.model.dependencies import DependencyMixin, DependencyTarget

if TYPE_CHECKING:
    from conveyor.model.task import BaseOperator

RETURN_VALUE = "return_value"


class XComArg(DependencyMixin):
    def __init__(self, operator: BaseOperator, key: str = RETURN_VALUE) -> None:
        self._operator = operator
        self.key = key

    @property
    def operator(self) -> BaseOperator:
        return self._operator

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        return [self._operator]

    # -- the task's setup / teardown role, as on the task itself ---------------------------

    def as_setup(self) -> XComArg:
        self._operator.as_setup()
        return self

    def as_teardown(
        self,
        *,
        setups: DependencyTarget | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> XComArg:
        self._operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self) -> XComArg:
        self._operator.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._operator.__exit__(*exc)

    def __getitem__(self, key: str) -> XComArg:
        """``extract()["rows"]``: the XCom pushed under another key."""
        return XComArg(self._operator, key)

    def __repr__(self) -> str:
        return f"XComArg({self._operator.task_id!r}, key={self.key!r})"

    def __str__(self) -> str:
        """The Jinja expression that pulls the value, so ``f"echo {arg}"`` works in templates."""
        return (
            f"{{{{ task_instance.xcom_pull(task_ids={self._operator.task_id!r}, "
            f"key={self.key!r}) }}}}"
        )


def pull_xcom_arg(arg: XComArg, pull: Callable[[str, str], Any]) -> Any:
    """The value ``arg`` stands for. ``result["key"]`` is the XCom pushed under that key, or
    else that key of the dict the task returned; neither is an error, never a silent None."""
    task_id = arg.operator.task_id
    value = pull(task_id, arg.key)
    if value is not None or arg.key == RETURN_VALUE:
        return value
    returned = pull(task_id, RETURN_VALUE)
    if isinstance(returned, dict) and arg.key in returned:
        return returned[arg.key]
    what = (
        f"returned a dict without that key (keys: {sorted(returned)})"
        if isinstance(returned, dict)
        else f"returned {type(returned).__name__}, not a dict"
    )
    raise TaskError(f"task {task_id!r} pushed no XCom {arg.key!r} and {what}")


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
        return pull_xcom_arg(value, pull)
    if isinstance(value, list):
        return [resolve_xcom_args(item, pull) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve_xcom_args(item, pull) for item in value)
    if isinstance(value, dict):
        return {k: resolve_xcom_args(v, pull) for k, v in value.items()}
    return value
