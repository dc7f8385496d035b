"""Conveyor's operator classes as Airflow files use them: Airflow's extra keywords accepted.

Also ``BashTaskOperator``, what ``@task.bash`` builds.

``airflow_operator_class(BashOperator)`` is a subclass that takes the keywords Airflow
operators take and Conveyor's do not (``provide_context``, ``email_on_failure``,
``do_xcom_push`` ...), gives each its Airflow meaning where that is cheap (table.py's
``ACCEPTED_KEYWORDS`` says which) and drops the display-only ones, then builds the Conveyor
operator. It keeps the class's name, so graphs, logs and the serialized DAG read the same.
A user's own operator that subclasses ``airflow.models.BaseOperator`` inherits all of it.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Container
from typing import Any

from conveyor.airflow_compat.table import DOCS
from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.model.task import BaseOperator
from conveyor.model.templating import render_template, render_value
from conveyor.operators.bash import BashOptions
from conveyor.operators.python import PythonOperator

#: Airflow operator keywords the subclass takes itself, with what it keeps of them.
#: (``max_active_tis_per_dag``, ``weight_rule``, a task's ``start_date`` ... are
#: ``BaseOperator``'s own: they reach it unchanged.)
_DISPLAY_ONLY = (
    "run_as_user",
    "provide_context",
)
#: What the Kubernetes executor reads of a task (the serialized DAG carries them); the other
#: executors ignore them.
_FOR_EXECUTORS = ("executor", "executor_config", "resources")
#: pre_execute(context) and post_execute(context, result), called around execute.
_HOOKS = ("pre_execute", "post_execute")
_DOCS = ("doc_md", "doc_rst", "doc_json", "doc_yaml")
_KEPT = (
    "email",
    "email_on_failure",
    "email_on_retry",
    "do_xcom_push",
    "xcom_push",
    "params",
    "multiple_outputs",
)
AIRFLOW_OPERATOR_KEYWORDS = (*_DISPLAY_ONLY, *_FOR_EXECUTORS, *_HOOKS, *_DOCS, *_KEPT)
#: Keywords every operator takes through BaseOperator's wrapper (conveyor.model.task).
_OPERATOR_KEYWORDS_TAKEN_BY_BASE = ("task_group", "default_args")
#: Airflow 2's deprecated trigger rule names, with the rule each stood for.
TRIGGER_RULE_ALIASES = {
    "none_failed_or_skipped": "none_failed_min_one_success",
    "dummy": "always",
}

_made: dict[type, type] = {}


def _absorb(operator: BaseOperator, kwargs: dict[str, Any]) -> None:
    """Take Airflow's keywords out of ``kwargs``, keeping the ones that mean something."""
    for key in _DISPLAY_ONLY:
        kwargs.pop(key, None)
    for key in _FOR_EXECUTORS:
        value = kwargs.pop(key, None)
        if value:
            setattr(operator, key, value)
    for hook in _HOOKS:  # callables the runner calls around execute (worker.runner)
        found = kwargs.pop(hook, None)
        if found is not None:
            setattr(operator, f"airflow_{hook}", found)
    rule = kwargs.get("trigger_rule")
    if isinstance(rule, str) and rule in TRIGGER_RULE_ALIASES:
        kwargs["trigger_rule"] = TRIGGER_RULE_ALIASES[rule]
    for key in _DOCS:
        text = kwargs.pop(key, None)
        if text and not kwargs.get("doc"):
            kwargs["doc"] = text
    email = kwargs.pop("email", None)
    on_failure = bool(kwargs.pop("email_on_failure", True))
    on_retry = bool(kwargs.pop("email_on_retry", True))
    legacy_push = kwargs.pop("xcom_push", None)  # Airflow 1.10's spelling of do_xcom_push
    # Most operators push their return value unless told not to; a few (Airflow's
    # KubernetesPodOperator) only when asked, which their class says.
    default = getattr(operator, "default_do_xcom_push", True)
    push = kwargs.pop("do_xcom_push", default if legacy_push is None else legacy_push)
    operator.do_xcom_push = bool(push)  # type: ignore[attr-defined]
    operator.params = dict(kwargs.pop("params", None) or {})  # type: ignore[attr-defined]
    if email:
        from conveyor.airflow_compat.email import add_email_callbacks

        add_email_callbacks(kwargs, email, on_failure=on_failure, on_retry=on_retry)


def _task_logger(self: BaseOperator) -> logging.Logger:
    """``self.log`` in an operator: Airflow's per-class logger, which lands in the try's log."""
    cls = type(self)
    return logging.getLogger(f"airflow.task.operators.{cls.__module__}.{cls.__name__}")


def _xcom_push(self: BaseOperator, context: dict[str, Any], key: str, value: Any) -> None:
    """Airflow 1.10's ``self.xcom_push(context, key, value)`` in an operator of one's own."""
    context["ti"].xcom_push(key, value)


def _xcom_pull(
    self: BaseOperator,
    context: dict[str, Any],
    task_ids: Any = None,
    dag_id: str | None = None,
    key: str = "return_value",
    include_prior_dates: bool | None = None,
    **airflow: Any,
) -> Any:
    """Airflow's ``self.xcom_pull(context, task_ids, dag_id, key, include_prior_dates)``."""
    return context["ti"].xcom_pull(
        task_ids=task_ids,
        dag_id=dag_id,
        key=key,
        include_prior_dates=bool(include_prior_dates),
        **airflow,
    )


def _render_template(self: BaseOperator, content: Any, context: dict[str, Any]) -> Any:
    """``self.render_template(text, context)``: rendered as the task's own fields are."""
    return render_template(self, content, context)


def _explain_keyword(
    cls: type, args: tuple[Any, ...], kwargs: dict[str, Any], exc: TypeError
) -> None:
    """An Airflow keyword the Conveyor class does not take: say which, and where to look."""
    found = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
    if found is None or found[1] not in kwargs:
        return
    task_id = kwargs.get("task_id", args[0] if args else "?")
    raise DagDefinitionError(
        f"task {task_id!r}: Conveyor's {cls.__name__} does not take {found[1]}= "
        f"(an Airflow keyword it has no use for; supported keywords: {DOCS})"
    ) from None


def airflow_operator_class(cls: type[BaseOperator]) -> type[BaseOperator]:
    """The Airflow-facing subclass of a Conveyor operator class (made once per class)."""
    if getattr(cls, "__airflow_compat__", False):
        return cls
    made = _made.get(cls)
    if made is not None:
        return made

    takes_multiple_outputs = "multiple_outputs" in inspect.signature(cls.__init__).parameters

    def __init__(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        _absorb(self, kwargs)
        # Any Airflow operator may push a returned dict key by key; Conveyor's runner does it
        # for every task whose multiple_outputs is set.
        multiple = None if takes_multiple_outputs else kwargs.pop("multiple_outputs", None)
        try:
            cls.__init__(self, *args, **kwargs)
        except TypeError as exc:
            _explain_keyword(cls, args, kwargs, exc)
            raise
        if multiple is not None:
            self.multiple_outputs = bool(multiple)  # type: ignore[attr-defined]

    # The class's own keywords, then Airflow's, in the signature: default_args entries with
    # these keys reach __init__, and a library that sorts its keywords by the signature of
    # Airflow's BaseOperator (astronomer-cosmos does) finds task_id, dag and the rest there.
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    taken = {p.name for p in own}
    keywords = own + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
        for name in (*AIRFLOW_OPERATOR_KEYWORDS, *_OPERATOR_KEYWORDS_TAKEN_BY_BASE)
        if name not in taken
    ]
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *keywords,
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    )
    made = type(
        cls.__name__,
        (cls,),
        {
            "__init__": __init__,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "__airflow_compat__": True,
            "log": property(_task_logger),
            "xcom_push": _xcom_push,
            "xcom_pull": _xcom_pull,
            "render_template": _render_template,
        },
    )
    _made[cls] = made
    return made


class BashTaskOperator(BashOptions, PythonOperator):
    """``@task.bash``: the function returns a shell command, which is rendered and run.

    As Airflow's: the returned text is a Jinja template like ``bash_command``; its output goes
    to the try's log and its last line is the XCom (through ``output_processor`` if given).
    """

    # PythonOperator's fields and the shell's; mypy reads the parent's as a 3-tuple.
    template_fields = (*PythonOperator.template_fields, "env", "cwd")
    ui_color = "#f0ede4"

    def __init__(
        self,
        task_id: str,
        *,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | Container[int] | None = 99,
        output_processor: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self._keep_bash_options(env, append_env, cwd, skip_on_exit_code, output_processor)

    def execute(self, context: dict[str, Any]) -> Any:
        command = super().execute(context)
        if not isinstance(command, str) or not command.strip():
            raise TaskError(
                f"@task.bash {self.task_id!r} must return a non-empty command, got {command!r}"
            )
        return self._run_bash(render_value(command, context))
