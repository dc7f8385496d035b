"""What a task saw, written the same way under any orchestrator.

Plain Python on purpose: it imports nothing of either system, so the lines it writes are
comparable byte for byte. Each call appends one JSON line to ``$DIFFSUITE_RECORDS/<dag>.jsonl``
(nothing is written when the variable is unset, as while a file is only parsed).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any

START = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)
LOGICAL = "2026-01-01T00:00:00+00:00"


def plain(value: Any) -> Any:
    """A JSON value for what was seen: times as ISO text, durations in seconds."""
    # A lazy context value (Airflow's lazy_object_proxy) stands for what it wraps.
    value = getattr(value, "__wrapped__", value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, BaseException):
        return {"error": type(value).__name__}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def kind_of(value: Any) -> str:
    """What an imported name is, comparable across systems: a class, a function, the type
    of a plain value, "module", or "object" for an instance of anything else."""
    if isinstance(value, type):
        return "class"
    if type(value).__name__ == "module":
        return "module"
    if callable(value):
        return "function"
    if value is None or isinstance(value, (bool, int, float, str, bytes, dict, list, tuple)):
        return type(value).__name__
    return "object"


#: What ``describe`` reads of a class: what a DAG author names or templates with it.
CLASS_ATTRIBUTES = ("template_fields", "conn_name_attr", "default_conn_name", "conn_type")


def describe(value: Any) -> Any:
    """``kind_of``, and for a class its own name and those of ``CLASS_ATTRIBUTES`` it has
    (``template_fields`` sorted: their order is no behaviour)."""
    kind = kind_of(value)
    if kind != "class":
        return kind
    seen: dict[str, Any] = {"kind": kind, "name": value.__name__}
    for attribute in CLASS_ATTRIBUTES:
        if hasattr(value, attribute):
            found = getattr(value, attribute)
            if attribute == "template_fields":
                found = sorted(found) if isinstance(found, (list, tuple, set)) else str(found)
            seen[attribute] = found
    return seen


def write(run_id: str, dag_id: str, task_id: str, map_index: int, key: str, value: Any) -> None:
    folder = os.environ.get("DIFFSUITE_RECORDS")
    if not folder:
        return
    line = {"run": run_id, "task": task_id, "map_index": map_index, "key": key}
    line["value"] = plain(value)
    with open(os.path.join(folder, f"{dag_id}.jsonl"), "a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")


def rec(context: Any, key: str, value: Any) -> None:
    """Record ``value`` under ``key`` for the task instance whose context this is."""
    ti = context["ti"]
    index = getattr(ti, "map_index", -1)
    write(ti.run_id, ti.dag_id, ti.task_id, -1 if index is None else index, key, value)


def rec_dag(context: Any, key: str, value: Any) -> None:
    """Record for the run itself (a DAG-level callback has no task instance of its own)."""
    run = context["dag_run"]
    write(run.run_id, run.dag_id, "__dag__", -1, key, value)


def attempt(context: Any, key: str, thunk: Any) -> None:
    """Record what ``thunk()`` gives, or the class of what it raised."""
    try:
        value = thunk()
    except Exception as error:  # the class is what is compared
        value = {"error": type(error).__name__}
    rec(context, key, value)


def callback(name: str) -> Any:
    """A task or DAG callback that records its own name, in the order callbacks run."""

    def called(context: Any) -> None:
        if context.get("ti") is not None and name.startswith("task_"):
            rec(context, "callback", name)
        else:
            rec_dag(context, "callback", name)

    called.__name__ = name
    return called
