"""``enable_lineage`` / ``disable_lineage``: with the setting ``openlineage_selective_enable``
on, only the DAGs and tasks given to ``enable_lineage`` send events (Airflow's
``airflow.providers.openlineage.utils.selective_enable``). On a DAG the mark is given to
each of its tasks too. Airflow keeps the mark in a param: a DAG's is one of its params here
too (so its stored form carries it to the scheduler, which sends the DAG run's events);
Conveyor's tasks have no params, so a task's mark is an attribute, set where the DAG file
runs (the try imports the file, so the try sees it)."""

from __future__ import annotations

from typing import Any, TypeVar

#: The name Airflow gives the mark.
MARK = "_selective_enable_ol"

T = TypeVar("T")


def _mark(obj: Any, value: bool) -> None:
    operator = getattr(obj, "operator", None)
    if operator is not None and not hasattr(obj, "task_id"):  # a task's output (XComArg)
        _mark(operator, value)
        return
    tasks = getattr(obj, "task_dict", None)
    if tasks is not None:  # a DAG: its param, and its tasks
        obj.params[MARK] = value
        for task in tasks.values():
            _mark(task, value)
    setattr(obj, MARK, value)


def enable_lineage(obj: T) -> T:
    """Mark a DAG (and its tasks), a task or a task's output as sending events."""
    _mark(obj, True)
    return obj


def disable_lineage(obj: T) -> T:
    """Mark a DAG (and its tasks), a task or a task's output as sending none."""
    _mark(obj, False)
    return obj


def marked(obj: Any) -> bool | None:
    """True or False as marked, None when not marked (a DAG's stored params: ``obj`` may be
    the params themselves)."""
    value = obj.get(MARK) if isinstance(obj, dict) else getattr(obj, MARK, None)
    return value if isinstance(value, bool) else None
