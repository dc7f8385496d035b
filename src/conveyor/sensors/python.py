"""``PythonSensor``: done once a Python callable returns something truthy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from conveyor.operators.python import PythonCall, call_arguments, require_callable
from conveyor.sensors.base import BaseSensor


class PythonSensor(PythonCall, BaseSensor):
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
        require_callable(task_id, python_callable)
        super().__init__(task_id, **kwargs)
        self._keep_call(python_callable, op_args, op_kwargs, templates_dict)

    def poke(self, context: dict[str, Any]) -> Any:
        context["templates_dict"] = self.templates_dict
        extra = call_arguments(
            self.task_id, self.python_callable, context, self.op_kwargs, len(self.op_args)
        )
        return self.python_callable(*self.op_args, **self.op_kwargs, **extra)
