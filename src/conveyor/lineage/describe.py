"""What the ``airflow`` facets say of a DAG, a run, a task instance and a task: the fields
Airflow's provider sends, read from Conveyor's objects with plain values (dates in ISO
form, lists and sets as Airflow writes them: their text)."""

from __future__ import annotations

import contextlib
import weakref
from datetime import datetime, timedelta
from typing import Any

from conveyor.lineage.stored_dag import StoredDag


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    if isinstance(value, set | frozenset):
        return str(sorted(value))
    if isinstance(value, list | tuple):
        return str(list(value))
    if hasattr(value, "value") and not isinstance(value, dict | str | int | float | bool):
        return value.value  # an enum
    return value


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in names:
        try:
            value = getattr(obj, name)
        except Exception:  # a name Conveyor's object refuses (Airflow-only): left out
            continue
        found[name] = _plain(value)
    return found


def operator_class_path(task: Any) -> str:
    cls = type(task)
    return f"{cls.__module__}.{cls.__qualname__}"


#: A DAG's fields and owner, worked out once a process for each DAG object (a try's runner
#: keeps the DAG of each version it ran): its owner walks all its tasks, for every event.
_of_dag: weakref.WeakKeyDictionary[Any, tuple[dict[str, Any], str | None]] = (
    weakref.WeakKeyDictionary()
)


def _dag_facts(dag: Any) -> tuple[dict[str, Any], str | None]:
    with contextlib.suppress(KeyError, TypeError):  # not yet, or a DAG that cannot be a key
        return _of_dag[dag]
    found = _read_dag_info(dag), attribute_or_none(dag, "owner")
    with contextlib.suppress(TypeError):
        _of_dag[dag] = found
    return found


def dag_owner(dag: Any) -> Any:
    """``dag.owner`` (a walk over its tasks), once a process for a DAG object."""
    return _dag_facts(dag)[1] if dag is not None else None


def dag_info(dag: Any | None, dag_id: str) -> dict[str, Any]:
    """The ``dag`` part of the ``airflow`` facets: a copy of what was read of the DAG object
    the first time (redaction changes an event's dicts in place)."""
    if dag is None:
        return {"dag_id": dag_id}
    return dict(_dag_facts(dag)[0])


def _read_dag_info(dag: Any) -> dict[str, Any]:
    found = _fields(dag, ("dag_id", "description", "fileloc", "owner", "start_date", "tags"))
    summary = getattr(dag, "timetable_summary", None)
    if summary is None:  # a DAG object: its schedule says it
        summary = getattr(getattr(dag, "schedule", None), "description", None)
    found["timetable_summary"] = summary if isinstance(summary, str) else None
    return found


def dag_run_info(dag_run: Any) -> dict[str, Any]:
    found = _fields(
        dag_run,
        (
            "conf",
            "dag_id",
            "data_interval_end",
            "data_interval_start",
            "logical_date",
            "run_after",
            "run_id",
            "run_type",
        ),
    )
    found["clear_number"] = 0  # Conveyor does not count clears
    start, end = attribute_or_none(dag_run, "start_date"), attribute_or_none(dag_run, "end_date")
    found["start_date"] = _plain(start)
    found["end_date"] = _plain(end)
    found["duration"] = (end - start).total_seconds() if start and end else None
    return found


def attribute_or_none(obj: Any, name: str) -> Any:
    """``obj.name``, or None where the object has none or refuses it."""
    try:
        return getattr(obj, name)
    except Exception:
        return None


def task_instance_info(ti: Any) -> dict[str, Any]:
    found = _fields(ti, ("duration", "log_url", "pool", "try_number"))
    map_index = getattr(ti, "map_index", -1)
    found["map_index"] = map_index if map_index != -1 else None
    return found


_TASK_FIELDS = (
    "depends_on_past",
    "downstream_task_ids",
    "execution_timeout",
    "max_retry_delay",
    "owner",
    "priority_weight",
    "queue",
    "retries",
    "retry_exponential_backoff",
    "task_id",
    "trigger_rule",
    "upstream_task_ids",
    "wait_for_downstream",
    # operator-specific attributes Airflow's provider keeps
    "trigger_dag_id",
    "external_dag_id",
    "external_task_id",
    "database",
    "conn_id",
)


def task_info(task: Any) -> dict[str, Any]:
    found = _fields(task, _TASK_FIELDS)
    found["operator_class"] = type(task).__name__
    found["operator_class_path"] = operator_class_path(task)
    group = getattr(task, "task_group", None)
    group_id = getattr(group, "group_id", None)
    found["task_group"] = {"group_id": group_id} if group_id else None
    found["inlets"] = [_asset(a) for a in getattr(task, "inlets", None) or [] if _uri(a)]
    found["outlets"] = [_asset(a) for a in getattr(task, "outlets", None) or [] if _uri(a)]
    return found


def _uri(asset: Any) -> str | None:
    uri = getattr(asset, "uri", None)
    return uri if isinstance(uri, str) and uri else None


def _asset(asset: Any) -> dict[str, Any]:
    return {"uri": _uri(asset), "extra": dict(getattr(asset, "extra", None) or {}), "type": "asset"}


def dag_tasks(dag: StoredDag) -> tuple[dict[str, Any], dict[str, Any]]:
    """The DAG job's ``airflow`` facet's ``tasks`` and ``taskGroups``."""
    tasks: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    for task in dag.tasks:
        tasks[task.task_id] = {
            "operator": task.operator,
            "task_group": task.task_group_id,
            "emits_ol_events": True,
            "ui_color": task.ui_color,
            "ui_label": task.task_id,
            "downstream_task_ids": sorted(task.downstream_task_ids),
        }
        if task.task_group_id:
            groups.setdefault(task.task_group_id, {"ui_label": task.task_group_id})
    return tasks, groups
