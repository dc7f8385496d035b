"""A missed deadline's callback, called as Airflow calls it.

The scheduler's callback process (``callbacks.run_pending``) claims the ``deadline`` request
that the scheduler made when it found the deadline missed (``store/deadlines.py``), loads the
DAG version the run pinned, and calls here the alert's callback:

- with the alert's ``kwargs``, plus ``context`` when the callable takes ``context`` or
  ``**kwargs`` (Airflow's rule); a callable that returns a callable (a notifier class) has
  that called with the context;
- the context is Airflow's: ``dag_run`` (the run in the API's JSON shape) and ``deadline``
  (``id`` and ``deadline_time``);
- an :class:`AsyncCallback` is awaited on an event loop of its own (Airflow's triggerer);
  a :class:`SyncCallback` is called in the process (Airflow's executor).

What it raises is returned as text; the request is then ``failed`` with it, which the run's
page and ``conveyor tasks why`` show.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from conveyor.connections import masking
from conveyor.model.dag import DAG
from conveyor.model.deadlines import AsyncCallback, Callback
from conveyor.store import deadlines
from conveyor.store.engine import Store

#: The API's names of a run's fields, from the store's (Airflow's ``DAGRunResponse``).
_RUN_FIELDS = {
    "dag_run_id": "run_id",
    "dag_id": "dag_id",
    "logical_date": "logical_date",
    "queued_at": "queued_at",
    "start_date": "start_date",
    "end_date": "end_date",
    "data_interval_start": "data_interval_start",
    "data_interval_end": "data_interval_end",
    "run_type": "run_type",
    "state": "state",
    "conf": "conf",
    "note": "user_note",
}


def _json(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


def dag_run_json(record: dict[str, Any], dag: DAG) -> dict[str, Any]:
    """A run as Airflow's API shows it (``context["dag_run"]`` of a deadline callback)."""
    found = {name: _json(record.get(column)) for name, column in _RUN_FIELDS.items()}
    start, end = record.get("start_date"), record.get("end_date")
    found["duration"] = (end - start).total_seconds() if start and end else None
    found["run_after"] = _json(record.get("logical_date"))
    found["dag_display_name"] = getattr(dag, "dag_display_name", None) or dag.dag_id
    found["triggered_by"] = None
    found["triggering_user_name"] = None
    return found


def context_for(
    dag: DAG, record: dict[str, Any], deadline: deadlines.RunDeadline
) -> dict[str, Any]:
    return {
        "dag_run": dag_run_json(record, dag),
        "deadline": {"id": str(deadline.id), "deadline_time": deadline.deadline_at},
    }


def _accepts_context(target: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return True
    return "context" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


def _accepts_keywords(target: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return True
    return any(
        p.kind
        in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.VAR_KEYWORD,
        )
        for p in params.values()
    )


def _target(callback: Callback) -> Callable[..., Any]:
    if callback.callable is not None:
        return callback.callable
    module, _, name = callback.path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def call(callback: Callback, context: dict[str, Any]) -> None:
    """Call ``callback`` as Airflow does; raises what it raises."""
    target = _target(callback)
    kwargs = dict(callback.kwargs)
    if _accepts_context(target):
        kwargs["context"] = context
    result = target(**kwargs)
    if isinstance(callback, AsyncCallback) or inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    if callable(result):  # a class (a notifier): its instance is called with the context
        if _accepts_keywords(result):
            result(context=context) if _accepts_context(result) else result()
        else:
            result(context)


async def _awaited(value: Any) -> Any:
    return await value


def run_missed(store: Store, dag: DAG, run_pk: int, alert_index: int) -> list[str]:
    """Call the callback of the run's missed deadline ``alert_index``; what it raised."""
    with store.read() as conn:
        deadline = deadlines.one(conn, run_pk, alert_index)
        record = deadlines.run_record(conn, run_pk)
    alerts = getattr(dag, "deadline", None) or []
    if deadline is None or alert_index >= len(alerts):
        return [f"deadline alert {alert_index} is not in DAG {dag.dag_id!r} any more"]
    callback = alerts[alert_index].callback
    print(
        f"[conveyor] deadline missed: DAG {dag.dag_id!r} run {record['run_id']!r}, "
        f"{deadline.reference} at {deadline.deadline_at.isoformat()}; calling {callback.path}",
        file=sys.stderr,
        flush=True,
    )
    try:
        call(callback, context_for(dag, record, deadline))
    except Exception:
        text = masking.redact(traceback.format_exc())
        print(
            f"[conveyor] deadline callback {callback.path} raised:\n{text}",
            file=sys.stderr,
            flush=True,
        )
        return [f"{callback.path} raised {text.strip().splitlines()[-1]}"]
    return []
