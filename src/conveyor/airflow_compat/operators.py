"""Conveyor's operator classes as Airflow files use them: Airflow's extra keywords accepted.

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
from typing import Any

from conveyor.airflow_compat.table import DOCS
from conveyor.exceptions import DagDefinitionError
from conveyor.model.task import BaseOperator

#: Airflow operator keywords the subclass takes itself, with what it keeps of them.
_DISPLAY_ONLY = (
    "task_display_name",
    "weight_rule",
    "run_as_user",
    "executor_config",
    "resources",
    "inlets",
    "wait_for_downstream",
    "max_active_tis_per_dag",
    "max_active_tis_per_dagrun",
    "map_index_template",
    "start_date",
    "end_date",
    "provide_context",
)
_DOCS = ("doc_md", "doc_rst", "doc_json", "doc_yaml")
_KEPT = (
    "email",
    "email_on_failure",
    "email_on_retry",
    "do_xcom_push",
    "params",
    "multiple_outputs",
)
AIRFLOW_OPERATOR_KEYWORDS = (*_DISPLAY_ONLY, *_DOCS, *_KEPT)

_made: dict[type, type] = {}


def _absorb(operator: BaseOperator, kwargs: dict[str, Any]) -> None:
    """Take Airflow's keywords out of ``kwargs``, keeping the ones that mean something."""
    for key in _DISPLAY_ONLY:
        kwargs.pop(key, None)
    for key in _DOCS:
        text = kwargs.pop(key, None)
        if text and not kwargs.get("doc"):
            kwargs["doc"] = text
    email = kwargs.pop("email", None)
    on_failure = bool(kwargs.pop("email_on_failure", True))
    on_retry = bool(kwargs.pop("email_on_retry", True))
    operator.do_xcom_push = bool(kwargs.pop("do_xcom_push", True))  # type: ignore[attr-defined]
    operator.params = dict(kwargs.pop("params", None) or {})  # type: ignore[attr-defined]
    if email:
        from conveyor.airflow_compat.email import add_email_callbacks

        add_email_callbacks(kwargs, email, on_failure=on_failure, on_retry=on_retry)


def _task_logger(self: BaseOperator) -> logging.Logger:
    """``self.log`` in an operator: Airflow's per-class logger, which lands in the try's log."""
    cls = type(self)
    return logging.getLogger(f"airflow.task.operators.{cls.__module__}.{cls.__name__}")


def _explain_keyword(cls: type, kwargs: dict[str, Any], exc: TypeError) -> None:
    """An Airflow keyword the Conveyor class does not take: say which, and where to look."""
    found = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
    if found is None or found[1] not in kwargs:
        return
    task_id = kwargs.get("task_id", "?")
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
            _explain_keyword(cls, kwargs, exc)
            raise
        if multiple is not None:
            self.multiple_outputs = bool(multiple)  # type: ignore[attr-defined]

    # Named in the signature so that default_args entries with these keys reach __init__.
    keywords = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
        for name in AIRFLOW_OPERATOR_KEYWORDS
    ]
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
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
        },
    )
    _made[cls] = made
    return made
