"""The spans of a try (``stats/spans.py``): from what its start read, or from the store (one
read), only when spans are sent. The try runner makes its ``worker`` span and, once the
try's end is recorded, its instance's ``task_run`` span; ``tries.end_from_outside`` the
``task_run`` span of a try whose process could not report; the triggerer a deferred try's
``trigger`` span."""

from __future__ import annotations

from datetime import datetime

from conveyor.clock import utcnow
from conveyor.lifecycle import StartedTry
from conveyor.stats import spans
from conveyor.store import runs
from conveyor.store.engine import Store


def of_started(store: Store, started: StartedTry, run: runs.RunRow) -> spans.TrySpan | None:
    """The spans of a try this process just started, named from what its start read: no
    query on the hop. A dispatch that continues its try (a poke, a deferral's or an
    answer's resumption) reads the try's first dispatch's start, where its span starts."""
    if not spans.on():
        return None
    try_start = started.start_date
    if started.resumptions:
        with store.read() as conn:
            found = runs.trace_times(conn, started.run_pk, started.ti_id)
        if found is not None and found.try_start is not None:
            try_start = found.try_start
    return spans.TrySpan(
        spans.RunSpan(started.dag_id, started.run_id, run.run_type, run.start_date),
        started.ti_id,
        started.task_id,
        started.map_index,
        started.shown_try,
        started.queued_at,
        try_start,
    )


def read(
    store: Store,
    *,
    ti_id: int,
    run_pk: int,
    dag_id: str,
    task_id: str,
    run_id: str | None = None,
    try_number: int | None = None,
    start_date: datetime | None = None,
) -> spans.TrySpan | None:
    """The try as its spans name it (None: spans are off, or the instance is gone). A run id
    or try number not given (a deferred try's, for its trigger's span) is the store's."""
    if not spans.on():
        return None
    with store.read() as conn:
        found = runs.trace_times(conn, run_pk, ti_id)
    if found is None:
        return None
    run = spans.RunSpan(dag_id, run_id or found.run_id, found.run_type, found.run_start)
    started = found.try_start or start_date or utcnow()
    shown = found.shown_try if try_number is None else try_number
    return spans.TrySpan(run, ti_id, task_id, found.map_index, shown, found.ti_queued_at, started)
