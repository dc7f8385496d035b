"""The spans of a try (``stats/spans.py``), from the store: one read, only when spans are
sent. The try runner makes its ``worker`` span and, once the try's end is recorded, its
instance's ``task_run`` span; ``tries.end_from_outside`` the ``task_run`` span of a try
whose process could not report; the triggerer a deferred try's ``trigger`` span."""

from __future__ import annotations

from datetime import datetime

from conveyor.clock import utcnow
from conveyor.stats import spans
from conveyor.store import runs
from conveyor.store.engine import Store


def read(
    store: Store,
    *,
    ti_id: int,
    run_pk: int,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int,
    start_date: datetime | None = None,
) -> spans.TrySpan | None:
    """The try as its spans name it (None: spans are off, or the instance is gone)."""
    if not spans.on():
        return None
    with store.read() as conn:
        found = runs.trace_times(conn, run_pk, ti_id)
    if found is None:
        return None
    run = spans.RunSpan(dag_id, run_id, found.run_type, found.run_start)
    started = found.try_start or start_date or utcnow()
    return spans.TrySpan(
        run, ti_id, task_id, found.map_index, try_number, found.ti_queued_at, started
    )


def read_deferred(
    store: Store, *, ti_id: int, run_pk: int, dag_id: str, task_id: str
) -> spans.TrySpan | None:
    """A deferred try, for its trigger's span (None: spans are off, or it is gone)."""
    if not spans.on():
        return None
    with store.read() as conn:
        found = runs.trace_times(conn, run_pk, ti_id)
    if found is None:
        return None
    run = spans.RunSpan(dag_id, found.run_id, found.run_type, found.run_start)
    started = found.try_start or utcnow()
    return spans.TrySpan(
        run, ti_id, task_id, found.map_index, found.shown_try, found.ti_queued_at, started
    )
