"""A retry's delay counts from the try's recorded end, on both stores: the engine decides
the retry where it records the end, from the task's own retry rules, and a recording
transaction that waited for the store's lock does not shorten it."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from conveyor.engine.report import Raised
from conveyor.engine.tries import TryEnd, try_ended
from conveyor.lifecycle import Actor
from conveyor.states import ExitKind, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock
from conveyor.store.tables import task_try
from run_env import manual_run, parsed_folder

DAG_FILE = """
    from datetime import timedelta

    from conveyor import DAG, EmptyOperator

    with DAG("flaky") as dag:
        EmptyOperator(task_id="once", retries=1, retry_delay=timedelta(seconds=5))
"""
ACTOR = Actor("test")


def _first_try_running(tmp_path: Path, store: Store) -> tuple[int, runs.TiRow, str]:
    """A run of ``flaky`` with its task's first try running: its pk, that task instance, and
    the DAG version the run pinned."""
    parsed_folder(tmp_path, store, "flaky.py", DAG_FILE)
    with store.write() as conn:
        run_pk = manual_run(conn, "flaky")
        (ti,) = runs.task_instances(conn, run_pk)
        assert transitions.schedule_and_queue(conn, ti.id, 0, "ready", "default", ACTOR)
        assert transitions.start_try(conn, ti.id, 1, hostname="h", pid=1, actor=ACTOR)
        return run_pk, ti, runs.get_run(conn, run_pk).version_hash


def test_a_retry_waits_its_delay_after_the_recorded_end(tmp_path: Path, store: Store) -> None:
    run_pk, ti, _ = _first_try_running(tmp_path, store)

    delay = timedelta(seconds=5)  # the task's retry_delay
    end = TryEnd(ti.id, 1, run_pk, "once", Raised(ExitKind.EXCEPTION, "boom"), ti.max_tries)
    with store.write() as conn:
        result = try_ended(conn, end, ACTOR, parallelism=None)
    assert result.state is TaskState.UP_FOR_RETRY

    assert _retry_after_the_recorded_end(store, run_pk, ti.id) >= delay - timedelta(milliseconds=50)


def test_a_record_that_waits_for_the_runs_lock_keeps_the_whole_delay(
    tmp_path: Path, store: Store
) -> None:
    """A worker's record (the run's DAG version known: on PostgreSQL the lock goes with the
    finish) that waits for another writer of the run still leaves the whole delay between
    the recorded end and the retry."""
    run_pk, ti, version = _first_try_running(tmp_path, store)

    delay = timedelta(seconds=5)
    happened = Raised(ExitKind.EXCEPTION, "boom")
    end = TryEnd(ti.id, 1, run_pk, "once", happened, ti.max_tries, version_hash=version)
    recorded = threading.Event()

    def record() -> None:
        with store.write() as conn:
            assert try_ended(conn, end, ACTOR, parallelism=None).state is TaskState.UP_FOR_RETRY
        recorded.set()

    with store.write() as holder:
        run_lock.lock_run(holder, run_pk)
        waiting = threading.Thread(target=record)
        waiting.start()
        assert not recorded.wait(1.0)  # it waits for the holder
    waiting.join(timeout=30)
    assert recorded.is_set()

    assert _retry_after_the_recorded_end(store, run_pk, ti.id) >= delay - timedelta(milliseconds=50)


def _retry_after_the_recorded_end(store: Store, run_pk: int, ti_id: int) -> timedelta:
    """How long after its try's recorded end the (only) task instance's retry is due."""
    with store.read() as conn:
        (after,) = runs.task_instances(conn, run_pk)
        ended = conn.execute(
            select(task_try.c.end_date).where(task_try.c.ti_id == ti_id)
        ).scalar_one()
    assert after.retry_at is not None
    return after.retry_at - ended


@pytest.mark.parametrize("version_known", [True, False])
def test_a_retry_counts_the_tries_the_row_allows_not_those_the_report_echoes(
    tmp_path: Path, store: Store, version_known: bool
) -> None:
    """The try's process was told at its start how many tries the task has; the engine
    decides on the task instance's row, read under the run's lock."""
    run_pk, ti, version = _first_try_running(tmp_path, store)
    assert ti.max_tries == 2  # retries=1: this first try may be retried

    happened = Raised(ExitKind.EXCEPTION, "boom")
    echoed_last = 1  # what a report that believed this the last try would echo
    end = TryEnd(
        ti.id,
        1,
        run_pk,
        "once",
        happened,
        echoed_last,
        version_hash=version if version_known else None,
    )
    with store.write() as conn:
        result = try_ended(conn, end, ACTOR, parallelism=None)
    assert result.state is TaskState.UP_FOR_RETRY
