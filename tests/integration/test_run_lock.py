"""Advancing a run takes its row's lock first: "lock the run" is a type, ``LockedRun``.

The functions that write a run's moves under its lock take a ``LockedRun``, which only
``run_lock.lock_run`` / ``run_lock.claim_run`` make; ``advance_run`` takes a run so locked. On
PostgreSQL a second lock of a run another transaction holds waits for it, or, as the scheduler
loop asks (``claim_run``), skips it.
"""

from __future__ import annotations

import inspect
import re
import textwrap
import threading
import typing
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import conveyor
from conveyor.engine import mapping, progress
from conveyor.engine import runs as engine_runs
from conveyor.engine.progress import advance_run
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RunState, TaskState
from conveyor.store import pools, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.runs import RunRow
from conveyor.store.tables import dag_run

PAIR = """
    from conveyor import DAG, EmptyOperator

    with DAG("pair") as dag:
        EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
"""


def test_the_functions_that_write_under_the_lock_require_a_locked_run() -> None:
    for function, parameter in [
        (pools.lock_pools, "run"),
        (mapping.plan_mapped_run, "run"),
        (progress.advance_run, "run"),
        (progress.plan_whole_run, "run"),
        (progress.advance_from_frontier, "run"),
        (progress._plan_whole, "run"),
        (progress._advance_and_queue, "run"),
        (progress._admit_into, "run"),
        (engine_runs.end_run, "run"),
        (transitions.end_run, "run"),
        (transitions.time_out_run, "run"),
        (transitions.finish, "run"),
        (transitions.hand_back, "run"),
    ]:
        # A module may name LockedRun only for type checking (a light import for read-only
        # callers): resolve the name as the checker does.
        hints = typing.get_type_hints(function, localns={"LockedRun": LockedRun})
        assert hints[parameter] is LockedRun, function.__qualname__


def test_only_the_store_makes_a_locked_run() -> None:
    """Nothing above the store builds a LockedRun from a run it did not lock."""
    source = Path(inspect.getfile(conveyor)).parent
    makers = [
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if re.search(r"\bLockedRun\(", path.read_text())
    ]
    assert makers == ["store/hop/run_lock.py"]


def test_only_the_engine_and_a_persons_actions_lock_a_run() -> None:
    """ "Lock the run" is said in engine/ and in store/manual.py (a clear, a mark, a
    deletion), nowhere else: the scheduler, the executors and the worker ask the engine."""
    source = Path(inspect.getfile(conveyor)).parent
    lockers = sorted(
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if re.search(r"\b(lock_run|claim_run|lock_run_then)\(", path.read_text())
        and path.name != "run_lock.py"
    )
    assert lockers, "the search found no caller at all"
    assert [p for p in lockers if not p.startswith("engine/")] == ["store/manual.py"]


@pytest.mark.postgres
def test_a_second_advance_of_a_locked_run_waits_or_skips(
    tmp_path: Path, pg_database_url: str
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pair.py").write_text(textwrap.dedent(PAIR))
    store = Store(pg_database_url, pool=True)
    actor = Actor("test")
    try:
        DagFileProcessor(store, dags, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "pair", created_by="test")
            assert run_pk is not None
            transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)

        def first_state() -> TaskState:
            with store.read() as conn:
                states = {ti.task_id: ti.state for ti in runs.task_instances(conn, run_pk)}
            return states["first"]

        waited: list[progress.Advance] = []
        with store.write() as holder:
            held = run_lock.lock_run(holder, run_pk)
            assert held.id == run_pk and held.state is RunState.RUNNING

            with store.write() as conn:  # the scheduler loop's way: leave it to the holder
                assert run_lock.claim_run(conn, run_pk) is None
            assert first_state() is TaskState.NONE  # nothing was planned or moved

            def advance() -> None:
                with store.write() as conn:
                    waited.append(advance_run(conn, run_lock.lock_run(conn, run_pk), actor))

            waiter = threading.Thread(target=advance)
            waiter.start()
            waiter.join(timeout=1.0)
            assert waiter.is_alive(), "the advance went on without the run's lock"
            assert first_state() is TaskState.NONE
        waiter.join(timeout=30)  # the holder committed: the advance takes the lock and runs
        assert not waiter.is_alive()
        assert len(waited) == 1 and not waited[0].skipped
        assert [work.task_id for work in waited[0].queued] == ["first"]
        assert first_state() is TaskState.QUEUED
    finally:
        store.dispose()


def test_a_lock_sent_together_rides_in_front_on_postgresql_only(
    tmp_path: Path, store_url: str
) -> None:
    """``lock_run_then(sent_together=True)``: on PostgreSQL the lock goes in front of the
    statement (``then`` is handed a pending lock); on SQLite the run is locked first."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pair.py").write_text(textwrap.dedent(PAIR))
    store = Store(store_url)
    try:
        DagFileProcessor(store, dags, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "pair", created_by="test")
            assert run_pk is not None
            transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
            partition = datetime(2026, 5, 1, 6, 30, tzinfo=UTC)
            started = datetime(2026, 5, 1, 7, 0, 0, 123456, tzinfo=UTC)
            conn.execute(
                update(dag_run)
                .where(dag_run.c.id == run_pk)
                .values(partition_date=partition, start_date=started)
            )
        with store.read() as conn:
            read = runs.get_run(conn, run_pk)
        handed: list[object] = []
        with store.write() as conn:

            def then(lock: object) -> int:
                handed.append(lock)
                return conn.execute(select(func.count()).select_from(dag_run)).scalar_one()

            locked, counted = run_lock.lock_run_then(conn, run_pk, then, sent_together=True)
        assert counted == 1
        assert locked.id == run_pk and locked.state is RunState.RUNNING
        # Whichever way the row came back, its dates are the store's, zone and all.
        assert (read.start_date, read.partition_date) == (started, partition)
        assert {f.name: getattr(locked, f.name) for f in fields(RunRow)} == {
            f.name: getattr(read, f.name) for f in fields(RunRow)
        }
        on_postgresql = store_url.startswith("postgresql")
        expected = run_lock.PendingLock if on_postgresql else LockedRun
        assert [type(lock) for lock in handed] == [expected]
    finally:
        store.dispose()
