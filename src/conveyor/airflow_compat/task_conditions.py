"""``@task.run_if(condition)`` and ``@task.skip_if(condition)``, Airflow 3's conditions on a
task, written above ``@task`` (or ``@task.bash`` ...).

The condition is called with the try's context right before ``execute`` (after the task's
templates are rendered), as Airflow calls it in its ``pre_execute``: a false ``run_if``
condition, or a true ``skip_if`` one, ends the try skipped (its downstream tasks then follow
their trigger rules). A ``pre_execute=`` the task was given runs after the check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conveyor.decorators import TaskFunction
from conveyor.exceptions import DagDefinitionError, Skip

#: What a skipped try says when the decorator was given no ``skip_message``, as in Airflow.
DEFAULT_SKIP_MESSAGE = "Task was skipped due to condition."

Condition = Callable[[dict[str, Any]], Any]


def run_if(condition: Condition, skip_message: str | None = None) -> Callable[[Any], Any]:
    """``@task.run_if(condition)``: the task runs only when ``condition(context)`` is true."""
    return lambda made: _with_condition(made, condition, skip_message, "run_if", skip_when=False)


def skip_if(condition: Condition, skip_message: str | None = None) -> Callable[[Any], Any]:
    """``@task.skip_if(condition)``: the task is skipped when ``condition(context)`` is true."""
    return lambda made: _with_condition(made, condition, skip_message, "skip_if", skip_when=True)


def _with_condition(
    made: Any, condition: Condition, message: str | None, name: str, *, skip_when: bool
) -> TaskFunction:
    if not callable(condition):
        raise DagDefinitionError(f"@task.{name}(...) needs a callable, got {condition!r}")
    if not isinstance(made, TaskFunction):
        raise DagDefinitionError(
            f"@task.{name}(...) goes above a task decorator (@task, @task.bash ...), "
            f"not on {made!r}"
        )
    earlier = made.options.get("pre_execute")

    def check(context: dict[str, Any]) -> None:
        if bool(condition(context)) == skip_when:
            raise Skip(message or DEFAULT_SKIP_MESSAGE)
        if earlier is not None:
            earlier(context)

    made.options = {**made.options, "pre_execute": check}
    return made
