"""Jinja rendering of the fields an operator declares in ``template_fields``.

Values reach templates as they are: a run's conf (which overrides ``params``) is typed by
whoever triggers the run, and nothing quotes it. A template that puts a value into a shell
command writes ``{{ params.x | shell_quote }}`` (one shell word, whatever it holds), or
passes the value through the operator's ``env``.
"""

from __future__ import annotations

import shlex
from typing import Any

import jinja2

from conveyor.exceptions import TemplateError
from conveyor.model.task import BaseOperator
from conveyor.model.xcom_arg import XComArg, pull_xcom_arg


def shell_quote(value: Any) -> str:
    """``{{ x | shell_quote }}``: the value as one shell word that the shell never expands."""
    return shlex.quote(value if isinstance(value, str) else str(value))


_ENVIRONMENT = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_ENVIRONMENT.filters["shell_quote"] = shell_quote


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render strings inside a value made of strings, lists, tuples and dicts.

    An ``XComArg`` becomes the value it stands for (not rendered again, as it is data).
    """
    if isinstance(value, XComArg):
        return pull_xcom_arg(value, context["ti"].xcom_pull_one)
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value  # nothing to render; skip compiling
        return _ENVIRONMENT.from_string(value).render(context)
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, context) for item in value)
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    return value


def render_template_fields(task: BaseOperator, context: dict[str, Any]) -> None:
    """Render every declared template field of the task in place, naming the field on error."""
    for field in task.template_fields:
        try:
            setattr(task, field, render_value(getattr(task, field), context))
        except jinja2.TemplateError as exc:
            where = f"task {task.task_id!r}, field {field!r}"
            lineno = getattr(exc, "lineno", None)
            detail = f" (template line {lineno})" if lineno else ""
            raise TemplateError(
                f"{where}: {type(exc).__name__}: {exc.message or exc}{detail}"
            ) from exc
