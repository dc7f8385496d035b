"""A try's spans are named from what its start read, with no query on the hop: the same run
start (which names the trace), run type, queued time and try as the store's read gives, on
each way a try starts (a message's start, a start whose answer was lost, a try its upstream's
record kept), on SQLite and PostgreSQL."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from conveyor.engine import tries
from conveyor.engine.progress import advance_run
from conveyor.engine.try_spans import of_started, read
from conveyor.lifecycle import Actor, StartedTry
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RunState
from conveyor.stats import spans
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock, steps
from conveyor.store.tables import dag_run

PAIR = """
    from conveyor import DAG, EmptyOperator

    with DAG("pair") as dag:
        EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
"""
RUN_START = datetime(2026, 5, 1, 7, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(spans, "on", lambda: True)  # no exporter: only the names are compared
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pair.py").write_text(textwrap.dedent(PAIR))
    found = Store(store_url)
    DagFileProcessor(found, dags, timeout=10, scan_every=1).sync()
    return found


def _running_run(store: Store) -> int:
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "pair", created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        conn.execute(update(dag_run).where(dag_run.c.id == run_pk).values(start_date=RUN_START))
    with store.write() as conn:
        queued = advance_run(conn, run_lock.lock_run(conn, run_pk), Actor("test")).queued
    assert [work.task_id for work in queued] == ["first"]
    return run_pk


def _same_as_read(store: Store, started: StartedTry, run: runs.RunRow) -> spans.TrySpan:
    span = of_started(store, started, run)
    assert span is not None
    assert span == read(
        store,
        ti_id=started.ti_id,
        run_pk=started.run_pk,
        dag_id=started.dag_id,
        task_id=started.task_id,
    )
    assert span.run.started == RUN_START and span.queued_at is not None
    return span


def test_a_started_try_names_its_spans_as_the_store_does(store: Store) -> None:
    try:
        run_pk = _running_run(store)
        with store.read() as conn:
            first = {ti.task_id: ti for ti in runs.task_instances(conn, run_pk)}["first"]
        with store.write() as conn:
            found = tries.start_try(
                conn,
                first.id,
                first.try_number,
                hostname="h",
                pid=1,
                actor=Actor("t"),
                log_path=str,
            )
        assert found is not None
        span = _same_as_read(store, *found)
        with store.read() as conn:  # the answer lost: the start read again
            again = tries.own_start(conn, first.id, first.try_number, hostname="h", pid=1)
        assert again is not None and _same_as_read(store, *again) == span
        # A dispatch that continues its try: its spans start at the try's first dispatch.
        started, run = found
        later = replace(started, resumptions=1, start_date=started.start_date + timedelta(1))
        resumed = of_started(store, later, run)
        assert resumed is not None and resumed.start_date == started.start_date
    finally:
        store.dispose()


def test_a_kept_try_names_its_spans_as_the_store_does(store: Store) -> None:
    try:
        run_pk = _running_run(store)
        with store.read() as conn:
            second = {ti.task_id: ti for ti in runs.task_instances(conn, run_pk)}["second"]
        ready = steps.Ready(second.id, second.try_number, "its upstream succeeded", "default")
        with store.write() as conn:
            run = run_lock.lock_run(conn, run_pk)
            won = steps.queue_and_start(
                conn, run, ready, second.state, hostname="h", pid=1, actor=Actor("t"), log_path=None
            )
        assert won is not None
        started = StartedTry(
            second.id,
            won.try_number,
            "pair",
            run.run_id,
            "second",
            run_pk,
            won.max_tries,
            won.start_date,
            won.queued_at,
        )
        _same_as_read(store, started, run)
    finally:
        store.dispose()
