"""A move rendered one statement at a time and folded into CTEs writes the same rows, and a
move that lost its race says what it found, on both stores.

On SQLite both forms are the single statements; on PostgreSQL the hop's forms are the
folded ones (store/hop/steps.py), and these tests hold them to the single statements.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, event, select

from conveyor.lifecycle import Actor, Outcome
from conveyor.states import ExitKind, TaskState
from conveyor.store import frontier_reads, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock, steps
from conveyor.store.tables import task_event, task_instance, task_try
from run_env import manual_run, parsed_folder

DAG_FILE = """
    from conveyor import DAG, EmptyOperator

    with DAG("pairs") as dag:
        for name in ("single", "folded"):
            EmptyOperator(task_id=name, queue="etl", retries=1)
"""
ACTOR = Actor("test")
NOW = datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
LATER = datetime(2024, 3, 1, 12, 0, 1, 500000, tzinfo=UTC)


@pytest.fixture
def pair(tmp_path: Path, store: Store) -> tuple[int, int, int]:
    """A run with two task instances in ``none``: one for each form of every move."""
    parsed_folder(tmp_path, store, "pairs.py", DAG_FILE)
    with store.write() as conn:
        run_pk = manual_run(conn, "pairs")
        tis = {t.task_id: t.id for t in runs.task_instances(conn, run_pk)}
    return run_pk, tis["single"], tis["folded"]


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    for module in (transitions, steps):
        monkeypatch.setattr(module, "utcnow", lambda: when)


def _rows(conn: Connection, table: Table, key: Any, ti_id: int) -> list[dict[str, Any]]:
    skip = {"id", "ti_id", "task_id"}
    found = conn.execute(select(table).where(key == ti_id).order_by(table.c.id)).mappings()
    return [{k: v for k, v in row.items() if k not in skip} for row in found]


def _same_rows(store: Store, single: int, folded: int, *, tried: bool = True) -> None:
    with store.read() as conn:
        for table, key in (
            (task_instance, task_instance.c.id),
            *([(task_try, task_try.c.ti_id)] if tried else []),
            (task_event, task_event.c.ti_id),
        ):
            found = _rows(conn, table, key, single)
            assert found, table.name
            assert found == _rows(conn, table, key, folded), table.name


def test_the_hop_forms_of_queue_start_and_finish_write_what_the_single_moves_write(
    store: Store, pair: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.schedule_and_queue(conn, single, 0, "upstream done", "etl", ACTOR)
        ready = steps.Ready(folded, 0, "upstream done", "etl")
        assert steps.queue_ready(conn, run, [ready], ACTOR) == {folded}
    _same_rows(store, single, folded, tried=False)

    with store.write() as conn:
        assert transitions.start_try(conn, single, 1, hostname="h", pid=9, actor=ACTOR)
        assert steps.start_and_read(
            conn, folded, 1, hostname="h", pid=9, actor=ACTOR, log_path=lambda _: None
        )
    _same_rows(store, single, folded)

    _at(monkeypatch, LATER)
    outcome = Outcome(TaskState.UP_FOR_RETRY, ExitKind.EXCEPTION, "boom", retry_at=LATER)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.finish(conn, run, single, 1, outcome, ACTOR)
        assert (
            steps.finish_and_read(conn, run, steps.Finish(folded, 1, outcome, ACTOR, at=LATER))
            is not None
        )
    _same_rows(store, single, folded)


@pytest.mark.parametrize("from_state", [TaskState.NONE, TaskState.SCHEDULED])
def test_a_queue_and_start_in_one_move_writes_what_the_single_moves_write(
    store: Store,
    pair: tuple[int, int, int],
    monkeypatch: pytest.MonkeyPatch,
    from_state: TaskState,
) -> None:
    """``queue_and_start`` (one statement on PostgreSQL, for a try that the process whose
    hop made it ready starts itself) leaves the rows the queueing move and ``start_try``
    leave, the timeline showing each step; a second one loses and writes nothing."""
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    if from_state is TaskState.SCHEDULED:  # a try that waited for room
        with store.write() as conn:
            for ti_id in (single, folded):
                assert transitions.schedule(conn, ti_id, TaskState.NONE, 0, "no room", ACTOR)
    current = 0 if from_state is TaskState.NONE else 1
    with store.write() as conn:
        assert transitions.queue_kept(
            conn, from_state, single, current, "upstream done", "etl", ACTOR
        )
        one = transitions.start_try(
            conn, single, 1, hostname="h", pid=9, actor=ACTOR, log_path=lambda _: "/logs/1.log"
        )
    ready = steps.Ready(folded, current, "upstream done", "etl")
    sent: list[str] = []

    def note(_c: object, _cur: object, statement: str, *_: object) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        event.listen(store.engine, "before_cursor_execute", note)
        try:
            started = steps.queue_and_start(
                conn,
                run,
                ready,
                from_state,
                hostname="h",
                pid=9,
                actor=ACTOR,
                log_path="/logs/1.log",
            )
        finally:
            event.remove(store.engine, "before_cursor_execute", note)
    # One guarded update wins the try (and on PostgreSQL writes the rest with it); SQLite's
    # try row follows, its timeline entries go with the commit.
    assert sent == (["WITH"] if store.engine.dialect.name == "postgresql" else ["UPDATE", "INSERT"])
    _same_rows(store, single, folded)
    with store.read() as conn:
        timeline = _rows(conn, task_event, task_event.c.ti_id, folded)
    kinds = [entry["kind"] for entry in timeline][-3 if from_state is TaskState.NONE else -2 :]
    assert kinds == (["scheduled"] if from_state is TaskState.NONE else []) + ["queued", "started"]
    queued = next(entry for entry in timeline if entry["kind"] == "queued")
    assert queued["detail"] == {"queue": "etl", "kept": True}, queued  # not sent to the broker
    assert one is not None and started is not None
    assert (started.try_number, started.max_tries, started.start_date) == (
        one.try_number,
        one.max_tries,
        one.start_date,
    )

    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        again = steps.queue_and_start(
            conn,
            run,
            ready,
            from_state,
            hostname="h",
            pid=10,
            actor=ACTOR,
            log_path="/logs/1.log",
        )
    assert again is None
    _same_rows(store, single, folded)  # nothing more written for the lost move


def test_a_finish_folded_into_the_hops_read_writes_and_reads_what_the_two_steps_do(
    store: Store, pair: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``finish_and_read_hop`` (one statement on PostgreSQL) leaves the rows the single
    finish leaves, and reads as a read after the finish would: the try no longer in flight,
    its retry due at once when its delay is over."""
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    with store.write() as conn:
        for ti_id in (single, folded):
            assert transitions.schedule_and_queue(conn, ti_id, 0, "ready", "etl", ACTOR)
            assert transitions.start_try(conn, ti_id, 1, hostname="h", pid=9, actor=ACTOR)

    _at(monkeypatch, LATER)
    outcome = Outcome(TaskState.UP_FOR_RETRY, ExitKind.EXCEPTION, "boom", retry_at=LATER)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.finish(conn, run, single, 1, outcome, ACTOR)
        reads = frontier_reads.FrontierReads(conn, run_pk)
        finish = steps.Finish(folded, 1, outcome, ACTOR, at=LATER)
        read = steps.finish_and_read_hop(
            conn, run, reads, finish, task_ids=["single"], waiting_bound=8, now=LATER
        )
        assert read is not None
        again = steps.finish_and_read_hop(
            conn, run, reads, finish, task_ids=[], waiting_bound=8, now=LATER
        )
    _same_rows(store, single, folded)
    if store.engine.dialect.name == "postgresql":  # the row the folded finish returned
        assert read.finished is not None and read.finished.state is TaskState.UP_FOR_RETRY
    assert (read.in_flight_of_run, read.in_flight) == (0, 0)
    assert sorted(ti.id for ti in read.due) == sorted([single, folded])
    assert reads.rows["single"].state is TaskState.UP_FOR_RETRY
    assert read.limits == {"default_pool": None}
    assert again is None  # the try was finished already: nothing read, nothing written twice


def test_the_hop_form_of_schedule_writes_what_the_single_move_writes(
    store: Store, pair: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.schedule(conn, single, TaskState.NONE, 0, "no room yet", ACTOR)
        ready = steps.Ready(folded, 0, "no room yet", "etl")
        assert steps.schedule_ready(conn, run, [ready], ACTOR) == {folded}
    _same_rows(store, single, folded, tried=False)


EARLIER = datetime(2024, 3, 1, 11, 0, 0, 125000, tzinfo=UTC)


def _as(store: Store, ti_ids: tuple[int, ...], **values: Any) -> None:
    with store.write() as conn:
        conn.execute(task_instance.update().where(task_instance.c.id.in_(ti_ids)).values(values))


def _started_at(store: Store, ti_id: int) -> datetime | None:
    with store.read() as conn:
        return conn.execute(
            select(task_instance.c.start_date).where(task_instance.c.id == ti_id)
        ).scalar_one()


def _keep(store: Store, run_pk: int, ti_id: int, from_state: TaskState) -> None:
    """The hop's queue_and_start of try 2's next dispatch (a try the hop's process keeps)."""
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        ready = steps.Ready(ti_id, 2, "ready", "etl")
        kept = steps.queue_and_start(
            conn, run, ready, from_state, hostname="h", pid=9, actor=ACTOR, log_path=""
        )
    assert kept is not None


def test_a_dispatch_resuming_at_a_method_keeps_its_tries_start_in_every_form(
    store: Store, pair: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deferral's resumption keeps the task instance's start (Airflow's ``start_date`` of a
    resumed task), whether started alone, in the hop's start or kept by the hop; a dispatch
    scheduled anew from ``none`` starts now, whatever method a cleared row still holds."""
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    resumed = {"next_method": "execute_complete", "start_date": EARLIER, "try_number": 1}
    _as(store, (single, folded), state=TaskState.QUEUED.value, **resumed)
    with store.write() as conn:
        assert transitions.start_try(conn, single, 1, hostname="h", pid=9, actor=ACTOR)
        assert steps.start_and_read(
            conn, folded, 1, hostname="h", pid=9, actor=ACTOR, log_path=lambda _: None
        )
    assert _started_at(store, single) == _started_at(store, folded) == EARLIER

    _as(store, (folded,), state=TaskState.SCHEDULED.value, **{**resumed, "try_number": 2})
    _keep(store, run_pk, folded, TaskState.SCHEDULED)
    assert _started_at(store, folded) == EARLIER

    _as(store, (folded,), state="none", next_method="stale", start_date=None, try_number=2)
    _keep(store, run_pk, folded, TaskState.NONE)
    assert _started_at(store, folded) == NOW


def test_a_lost_race_returns_and_logs_the_state_it_found(
    store: Store, pair: tuple[int, int, int], caplog: pytest.LogCaptureFixture
) -> None:
    run_pk, ti_id, other = pair
    with store.write() as conn:
        assert transitions.schedule_and_queue(conn, ti_id, 0, "ready", "etl", ACTOR)
        assert transitions.start_try(conn, ti_id, 1, hostname="h", pid=1, actor=ACTOR)

    caplog.set_level(logging.INFO, logger="conveyor.store.moves")
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        again = transitions.start_try(conn, ti_id, 1, hostname="h", pid=2, actor=ACTOR)
        queued = transitions.queue(conn, ti_id, 1, "etl", ACTOR)
        early = transitions.schedule_and_queue(conn, ti_id, 0, "ready", "etl", ACTOR)
        stale = transitions.finish(
            conn, run, ti_id, 0, Outcome(TaskState.SUCCESS, ExitKind.RETURN), ACTOR
        )
        folded = steps.queue_ready(conn, run, [steps.Ready(ti_id, 0, "ready", "etl")], ACTOR)
        skipped = transitions.finish_without_running(
            conn, other + 1000, TaskState.SKIPPED, 0, "gone", ACTOR
        )

    assert again is None  # the start it lost is logged below, with what it found
    for moved in (queued, early, stale):
        assert not moved and not moved.won
        assert (moved.ti_id, moved.found, moved.found_try) == (ti_id, TaskState.RUNNING, 1)
    assert queued.expected == (TaskState.SCHEDULED,)
    assert stale.expected == (TaskState.RUNNING,) and stale.to is TaskState.SUCCESS
    assert folded == set()
    assert not skipped and skipped.found is None  # no such task instance
    lost = [r for r in caplog.records if r.levelno == logging.INFO and "lost race" in r.message]
    assert len(lost) == 6
    assert f"task instance {ti_id}: expected ['queued'] try 1 -> running, found running" in (
        lost[0].message
    )


def test_a_start_that_waited_for_its_queuing_commit_records_its_start_after_the_wait(
    store: Store, pair: tuple[int, int, int]
) -> None:
    """A message can arrive before the transaction that queued its try commits; the start
    waits for that commit (``wait_for_queuing``). The try's recorded start is when it won,
    after the wait, so its duration does not include the sender's transaction."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL lets a start wait for the queuing transaction")
    run_pk, single, folded = pair
    queued = threading.Event()
    started: dict[int, Any] = {}

    def start(ti_id: int) -> None:  # a receiver: each start form in a transaction of its own
        queued.wait(10)
        with store.write() as conn:
            if ti_id == folded:
                read = steps.start_and_read(
                    conn, ti_id, 1, hostname="h", pid=9, actor=ACTOR, log_path=lambda _: None
                )
                started[ti_id] = None if read is None else read[0]
            else:
                started[ti_id] = transitions.start_try(
                    conn, ti_id, 1, hostname="h", pid=9, actor=ACTOR
                )

    receivers = [threading.Thread(target=start, args=(ti_id,)) for ti_id in (single, folded)]
    for receiver in receivers:
        receiver.start()
    with store.write() as conn:  # the sender: the run's lock, the queuing, then a pause
        run_lock.lock_run(conn, run_pk)
        for ti_id in (single, folded):
            assert transitions.schedule_and_queue(conn, ti_id, 0, "ready", "etl", ACTOR)
        queued.set()
        time.sleep(0.5)
        committing = datetime.now(UTC)
    for receiver in receivers:
        receiver.join(10)
    for ti_id in (single, folded):
        assert started[ti_id] is not None, ti_id
        assert started[ti_id].start_date >= committing, ti_id
