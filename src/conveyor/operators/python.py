"""``PythonOperator`` and ``BranchPythonOperator``: call a Python function.

The task context reaches a callable that asks for it, as ``**context`` or by name
(``ds``, ``ti``, ``run_id`` ...). An ``async def`` callable runs with asyncio in the try.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError, ReservedArgumentName
from conveyor.model.assets import drain_metadata
from conveyor.model.task import BaseOperator
from conveyor.model.xcom_arg import find_xcom_args, resolve_xcom_args


def context_arguments(
    func: Callable[..., Any], context: dict[str, Any], given: Iterable[str], n_positional: int
) -> dict[str, Any]:
    """The context entries a function asks for and was not given already."""
    params = list(inspect.signature(func).parameters.values())
    return _asked_for(params, context, given, n_positional)


def call_arguments(
    task_id: str,
    func: Callable[..., Any],
    context: dict[str, Any],
    given: Iterable[str],
    n_positional: int,
) -> dict[str, Any]:
    """:func:`context_arguments` for a task's Python callable, which first fails the try, as
    Airflow does when the call starts, if an argument given by position fills a parameter
    named like a context value or a keyword argument (``run_id``, ``ds`` ...): Airflow
    reserves those names for the context. Keyword-only and ``**`` parameters cannot take a
    positional argument and are not checked. One signature read serves both."""
    given = list(given)
    params = list(inspect.signature(func).parameters.values())
    taken = {*context, *given}
    for p in params[:n_positional]:
        if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD) and p.name in taken:
            name = getattr(func, "__name__", "the function")
            raise ReservedArgumentName(
                f"task {task_id!r}: parameter {p.name!r} of {name}() is given by position, but "
                f"{p.name!r} is a task context name, reserved for the context: rename the "
                f"parameter, or pass the value by keyword ({name}({p.name}=...)), which "
                "replaces the context's value"
            )
    return _asked_for(params, context, given, n_positional)


def _asked_for(
    params: list[inspect.Parameter],
    context: dict[str, Any],
    given: Iterable[str],
    n_positional: int,
) -> dict[str, Any]:
    if any(p.kind is p.VAR_KEYWORD for p in params):
        taken = set(given) | {p.name for p in params[:n_positional]}
        return {k: v for k, v in context.items() if k not in taken}
    wanted = {
        p.name for p in params[n_positional:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return {k: context[k] for k in wanted - set(given) if k in context}


def require_callable(task_id: str, python_callable: Any) -> None:
    """Refuse a ``python_callable`` that cannot be called, before the task is made."""
    if not callable(python_callable):
        raise DagDefinitionError(
            f"task {task_id!r}: python_callable must be callable, got {python_callable!r}"
        )


class PythonCall:
    """The call a Python operator or sensor makes: the function and its arguments."""

    python_callable: Callable[..., Any]
    op_args: list[Any]
    op_kwargs: dict[str, Any]
    templates_dict: dict[str, Any] | None

    def _keep_call(
        self,
        python_callable: Callable[..., Any],
        op_args: Iterable[Any] | None,
        op_kwargs: dict[str, Any] | None,
        templates_dict: dict[str, Any] | None,
    ) -> None:
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict


class PythonOperator(PythonCall, BaseOperator):
    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")
    ui_color = "#ffefeb"

    def __init__(
        self,
        task_id: str,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | tuple[Any, ...] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        multiple_outputs: bool = False,
        templates_exts: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        require_callable(task_id, python_callable)
        super().__init__(task_id, **kwargs)
        self._keep_call(python_callable, op_args, op_kwargs, templates_dict)
        # Airflow's switch for printing the return value in the try's log; the value is
        # pushed either way, and Conveyor's try log does not print it (its XCom does).
        self.show_return_value_in_logs = bool(show_return_value_in_logs)
        # A returned dict is stored key by key too, as well as whole.
        self.multiple_outputs = bool(multiple_outputs)
        if templates_exts:  # templates_dict values ending in these are template files
            self.template_ext = tuple(templates_exts)
        for arg in find_xcom_args([self.op_args, self.op_kwargs]):
            arg.operator.set_downstream(self)

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context["ti"]
        args = resolve_xcom_args(self.op_args, ti.xcom_pull_one)
        kwargs = resolve_xcom_args(self.op_kwargs, ti.xcom_pull_one)
        context["templates_dict"] = self.templates_dict
        extra = call_arguments(self.task_id, self.python_callable, context, kwargs, len(args))
        result = self.python_callable(*args, **kwargs, **extra)
        if inspect.iscoroutine(result):  # an async def callable: run it to its end here
            result = asyncio.run(result)
        if inspect.isgenerator(result):  # yields Metadata(asset, extra); returns the value
            result = drain_metadata(result, context.get("outlet_events"))
        return result


class BranchPythonOperator(PythonOperator):
    """Call a function that returns the task id (or ids) of the downstream tasks to follow.

    Direct downstream tasks that are not chosen are skipped; trigger rules carry on from there.
    """

    ui_color = "#ffe6a8"
    is_branch = True
