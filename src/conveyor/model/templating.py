"""Jinja rendering of the fields an operator declares in ``template_fields``, and the template
context data engineers know from other orchestrators.

:func:`standard_context` adds to a run's context the names such templates use (``macros``,
``execution_date``, ``next_ds``, ``prev_ds``, ``ts_nodash_with_tz``, ``task_instance_key_str``
...). A templated field whose value ends in one of the operator's ``template_ext`` (``.sh``
for BashOperator, ``templates_exts=`` on a PythonOperator) is the name of a template file,
looked up in the DAG's ``template_searchpath`` and the DAG file's folder, read and rendered.

Values reach templates as they are: a run's conf (which overrides ``params``) is typed by
whoever triggers the run, and nothing quotes it. A template that puts a value into a shell
command writes ``{{ params.x | shell_quote }}`` (one shell word, whatever it holds), or
passes the value through the operator's ``env``.
"""

from __future__ import annotations

import datetime as _datetime
import functools
import json
import os
import random
import re
import shlex
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any

import jinja2
from jinja2.nativetypes import NativeEnvironment

from conveyor.exceptions import TemplateError
from conveyor.model.macro_functions import datetime_diff_for_humans, ds_format_locale
from conveyor.model.params import DagParam
from conveyor.model.task import BaseOperator
from conveyor.model.xcom_arg import XComArg, pull_xcom_arg


def shell_quote(value: Any) -> str:
    """``{{ x | shell_quote }}``: the value as one shell word that the shell never expands."""
    return shlex.quote(value if isinstance(value, str) else str(value))


def _date_filter(spelling: Callable[[Any], str]) -> Callable[[Any], str | None]:
    """A filter that spells a date or datetime as the context's date names do; None stays."""

    def spell(value: Any) -> str | None:
        return None if value is None else spelling(value)

    return spell


#: ``{{ data_interval_end | ds }}``...: the context's date spellings, for any date.
DATE_FILTERS = {
    "ds": _date_filter(lambda v: v.strftime("%Y-%m-%d")),
    "ds_nodash": _date_filter(lambda v: v.strftime("%Y%m%d")),
    "ts": _date_filter(lambda v: v.isoformat()),
    "ts_nodash": _date_filter(lambda v: v.strftime("%Y%m%dT%H%M%S")),
    "ts_nodash_with_tz": _date_filter(lambda v: v.isoformat().replace("-", "").replace(":", "")),
}

# Jinja's default drops a template's one trailing newline (a template file's last line end),
# as Airflow's environment does.
_ENVIRONMENT = jinja2.Environment(undefined=jinja2.StrictUndefined)
_ENVIRONMENT.filters.update({**DATE_FILTERS, "shell_quote": shell_quote})
#: A DAG's ``render_template_as_native_obj=True``: a rendered field is the Python value its
#: text spells (``"{{ [1, 2] }}"`` gives a list), as in Airflow.
_NATIVE = NativeEnvironment(undefined=jinja2.StrictUndefined)
_NATIVE.filters.update({**DATE_FILTERS, "shell_quote": shell_quote})


@functools.lru_cache(maxsize=64)
def _environment(searchpath: tuple[str, ...], native: bool = False) -> jinja2.Environment:
    """An environment that finds template files (and ``{% include %}``s) in ``searchpath``."""
    base = _NATIVE if native else _ENVIRONMENT
    if not searchpath:
        return base
    return base.overlay(loader=jinja2.FileSystemLoader(list(searchpath)))


@dataclass(frozen=True)
class LiteralValue:
    """A template field's value kept as written: Jinja is not applied to it."""

    value: Any


def literal(value: Any) -> LiteralValue:
    """``value`` rendered as it is, ``{{ }}`` and all (Airflow's ``literal``)."""
    return LiteralValue(value)


def render_value(
    value: Any,
    context: dict[str, Any],
    *,
    env: jinja2.Environment | None = None,
    exts: Sequence[str] = (),
) -> Any:
    """Render strings inside a value made of strings, lists, tuples and dicts. A string that
    ends in one of ``exts`` names a template file, which ``env``'s loader reads."""
    env = env or _ENVIRONMENT
    if isinstance(value, LiteralValue):
        return value.value
    if isinstance(value, XComArg):
        return pull_xcom_arg(value, context["ti"].xcom_pull_one)
    if isinstance(value, DagParam):  # a @dag function's parameter: the run's value
        return value.resolve(context)
    if isinstance(value, str):
        if exts and env.loader is not None and value.endswith(tuple(exts)):
            return env.get_template(value).render(context)
        if "{{" not in value and "{%" not in value and not isinstance(env, NativeEnvironment):
            return value  # nothing to render; skip compiling (native: "1" still becomes 1)
        return env.from_string(value).render(context)
    if isinstance(value, list):
        return [render_value(item, context, env=env, exts=exts) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, context, env=env, exts=exts) for item in value)
    if isinstance(value, dict):
        return {key: render_value(item, context, env=env, exts=exts) for key, item in value.items()}
    return value


def template_searchpath(task: BaseOperator) -> tuple[str, ...]:
    """Where a task's template files are found: the DAG's template_searchpath, then the
    folder of the DAG's file."""
    dag = task.dag
    if dag is None:
        return ()
    paths = list(getattr(dag, "template_searchpath", None) or [])
    if dag.fileloc:
        paths.append(os.path.dirname(os.path.abspath(dag.fileloc)))
    return tuple(paths)


def _task_environment(
    task: BaseOperator, context: dict[str, Any]
) -> tuple[jinja2.Environment, dict[str, Any], tuple[str, ...]]:
    """The environment, context and template-file endings a task's templates render with:
    its DAG's macros and filters, and its template search path when it reads files."""
    exts = tuple(getattr(task, "template_ext", ()) or ())
    dag = task.dag
    native = bool(getattr(dag, "render_template_as_native_obj", False))
    env = _environment(template_searchpath(task) if exts else (), native)
    undefined = getattr(dag, "template_undefined", None) if dag else None
    if undefined is not None and undefined is not jinja2.StrictUndefined:
        env = env.overlay(undefined=undefined)
    extra_macros = getattr(dag, "user_defined_macros", None) if dag else None
    filters = getattr(dag, "user_defined_filters", None) if dag else None
    if extra_macros:  # the run's own names win over a macro of the same name
        context = {**extra_macros, **context}
    if filters:
        env = env.overlay()
        env.filters.update(filters)
    return env, context, exts


def render_template(task: BaseOperator, value: Any, context: dict[str, Any]) -> Any:
    """Render ``value`` (text, or lists and dicts of it) as the task's own fields render."""
    env, context, exts = _task_environment(task, context)
    return render_value(value, context, env=env, exts=exts)


def render_template_fields(task: BaseOperator, context: dict[str, Any]) -> None:
    """Render every declared template field of the task in place, naming the field on error."""
    env, context, exts = _task_environment(task, context)
    for field in task.template_fields:
        try:
            setattr(task, field, render_value(getattr(task, field), context, env=env, exts=exts))
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(
                f"task {task.task_id!r}, field {field!r}: template file {exc.name!r} not found "
                f"in {', '.join(template_searchpath(task)) or 'no folder'} (a value ending in "
                f"{', '.join(exts)} names a template file; add a space at its end if it does not)"
            ) from exc
        except jinja2.TemplateError as exc:
            where = f"task {task.task_id!r}, field {field!r}"
            lineno = getattr(exc, "lineno", None)
            detail = f" (template line {lineno})" if lineno else ""
            raise TemplateError(
                f"{where}: {type(exc).__name__}: {exc.message or exc}{detail}"
                f"{_removed_name_hint(task, exc)}"
            ) from exc


def _removed_name_hint(task: BaseOperator, exc: jinja2.TemplateError) -> str:
    """What to write instead of a context name the task's DAG does not have (Airflow 3's
    removed names, in an Airflow 3 file)."""
    removed = getattr(task.dag, "removed_context_names", None) or {}
    found = re.match(r"'(\w+)' is undefined", str(exc.message or ""))
    if not isinstance(exc, jinja2.UndefinedError) or not found or found[1] not in removed:
        return ""
    name = found[1]
    return (
        f"; Airflow 3 removed {name!r} from the context: use {removed[name]} "
        "(docs/airflow.md, What Airflow's keywords do here)"
    )


# -- the standard context ---------------------------------------------------------------------


def ds_add(ds: str, days: int) -> str:
    """``ds_add("2026-01-05", -4)`` is ``"2026-01-01"``."""
    moment = _datetime.datetime.strptime(ds, "%Y-%m-%d") + _datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds_format("2026-01-05", "%Y-%m-%d", "%m-%d-%y")`` is ``"01-05-26"``."""
    return _datetime.datetime.strptime(ds, input_format).strftime(output_format)


class Macros(SimpleNamespace):
    """``{{ macros }}``: the standard macros, and ``macros.<plugin>`` for an Airflow plugin's
    ``macros`` list (looked up when a template asks, in the plugins folder of the DAG being
    run; ``airflow_compat.plugins`` registers the lookup)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or _plugin_macros is None:
            raise AttributeError(name)
        found = _plugin_macros(name)
        if found is None:
            raise AttributeError(
                f"macros has no {name!r}: neither a standard macro nor a plugin of that name "
                "in the plugins folder"
            )
        return found


_plugin_macros: Callable[[str], Any] | None = None


def set_plugin_macros(lookup: Callable[[str], Any]) -> None:
    """Where ``macros.<name>`` looks for a plugin's macros (one lookup per process)."""
    global _plugin_macros
    _plugin_macros = lookup


def _macros() -> SimpleNamespace:
    dateutil: ModuleType | None
    try:
        import dateutil  # optional: present when the user's environment has it
        import dateutil.parser  # macros.dateutil.parser.parse(...), as on Airflow
        import dateutil.relativedelta
    except ImportError:  # pragma: no cover - depends on the environment
        dateutil = None
    return Macros(
        ds_add=ds_add,
        ds_format=ds_format,
        ds_format_locale=ds_format_locale,
        datetime_diff_for_humans=datetime_diff_for_humans,
        datetime=_datetime.datetime,
        timedelta=_datetime.timedelta,
        date=_datetime.date,
        dateutil=dateutil,
        random=random.random,
        time=time,
        uuid=uuid,
        json=json,
    )


MACROS = _macros()


def standard_context(context: dict[str, Any]) -> dict[str, Any]:
    """The names templates commonly use, computed from ``logical_date``, the data interval,
    ``dag`` and ``task`` of a context; to be merged under the run's own entries."""
    logical: _datetime.datetime = context["logical_date"]
    start: _datetime.datetime = context["data_interval_start"]
    end: _datetime.datetime = context["data_interval_end"]
    interval = end - start
    dag, task = context.get("dag"), context.get("task")
    # A scheduled run's next logical date is its interval's end, its previous one the fire
    # time before its own; a manual run (a person's: Airflow 2's external trigger) or one
    # without an interval gets its own logical date for both.
    manual = getattr(context.get("dag_run"), "run_type", None) == "manual"
    spans = bool(interval) and not manual
    following = end if spans else logical
    previous = logical
    if spans and dag is not None:
        schedule = getattr(dag, "schedule", None)
        found = schedule.previous_logical_date(logical, dag.start_date) if schedule else None
        previous = found or logical - interval
    day = _datetime.timedelta(days=1)
    ds_nodash = logical.strftime("%Y%m%d")
    dag_id = getattr(dag, "dag_id", "")
    task_id = getattr(task, "task_id", "")
    return {
        "macros": MACROS,
        "execution_date": logical,
        "next_execution_date": following,
        "prev_execution_date": previous,
        "next_ds": following.strftime("%Y-%m-%d"),
        "next_ds_nodash": following.strftime("%Y%m%d"),
        "prev_ds": previous.strftime("%Y-%m-%d"),
        "prev_ds_nodash": previous.strftime("%Y%m%d"),
        "tomorrow_ds": (logical + day).strftime("%Y-%m-%d"),
        "tomorrow_ds_nodash": (logical + day).strftime("%Y%m%d"),
        "yesterday_ds": (logical - day).strftime("%Y-%m-%d"),
        "yesterday_ds_nodash": (logical - day).strftime("%Y%m%d"),
        "ts_nodash_with_tz": logical.isoformat().replace("-", "").replace(":", ""),
        "task_instance_key_str": f"{dag_id}__{task_id}__{ds_nodash}",
        "inlets": list(getattr(task, "inlets", None) or []),
        "outlets": list(getattr(task, "outlets", None) or []),
        "test_mode": False,
    }
