"""``PythonSensor``: done once a Python callable returns something truthy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError
from conveyor.operators.python import context_arguments
from conveyor.sensors.base import BaseSensor


class PythonSensor(BaseSensor):
    """Call ``python_callable`` at each poke (with ``op_args``/``op_kwargs`` and the context
    entries it asks for); a truthy result means done (a PokeReturnValue also sets the XCom)."""

    template_fields: ClassVar[tuple[str, ...]] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        task_id: str,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not callable(python_callable):
            raise DagDefinitionError(
                f"task {task_id!r}: python_callable must be callable, got {python_callable!r}"
            )
        super().__init__(task_id, **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict

    def poke(self, context: dict[str, Any]) -> Any:
        context["templates_dict"] = self.templates_dict
        extra = context_arguments(self.python_callable, context, self.op_kwargs, len(self.op_args))
        return self.python_callable(*self.op_args, **self.op_kwargs, **extra)
