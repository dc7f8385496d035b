"""Many tries of one run finishing at the same instant, on PostgreSQL.

Each finishing try records its outcome and advances the run in one transaction. Those
transactions must neither deadlock (the XCom insert's foreign-key lock against the run lock)
nor miss that the join became ready: exactly one of them schedules it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import make_settings
from conveyor.engine.report import Returned
from conveyor.engine.tries import TryEnd
from conveyor.lifecycle import Actor, Outcome
from conveyor.states import RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import pipeline, run_lock
from conveyor.store.tables import task_event, task_instance
from conveyor.worker.runner import TryRunner
from run_env import parsed_folder

WIDE = """
    from conveyor import DAG, EmptyOperator

    with DAG("wide") as dag:
        start = EmptyOperator(task_id="start")
        join = EmptyOperator(task_id="join")
        for i in range(16):
            start >> EmptyOperator(task_id=f"mid_{i:02d}") >> join
"""


def _running_run(
    store: Store, dag_id: str, running: list[str], done: tuple[str, ...] = ()
) -> tuple[int, dict[str, runs.TiRow], str]:
    """A running run of ``dag_id`` with ``done`` succeeded and each of ``running`` running
    its first try, as a worker would leave it: its pk, task instances and DAG version."""
    actor = Actor("test")
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        tis = {t.task_id: t for t in runs.task_instances(conn, run_pk)}
        for name in done:
            transitions.set_by_hand(conn, tis[name].id, TaskState.SUCCESS, actor, retries=0)
        for name in running:
            ti = tis[name]
            transitions.schedule(conn, ti.id, TaskState.NONE, 0, "test", actor)
            transitions.queue(conn, ti.id, 1, "default", actor)
            transitions.start_try(conn, ti.id, 1, hostname="h", pid=1, actor=actor)
        return run_pk, tis, runs.get_run(conn, run_pk).version_hash


@pytest.mark.postgres
@pytest.mark.parametrize("sent_with_the_lock", [True, False], ids=["pipelined", "apart"])
def test_simultaneous_finishes_neither_deadlock_nor_miss_the_join(
    tmp_path: Path, pg_database_url: str, sent_with_the_lock: bool
) -> None:
    """A worker's record knows the run's DAG version and sends the run's lock with the
    finish; a caller that does not know it locks first. Both hold up under the race."""
    store = Store(pg_database_url, pool=True)
    try:
        dags = parsed_folder(tmp_path, store, "wide.py", WIDE)
        settings = make_settings(tmp_path, dags, pg_database_url, parallelism=64)
        mids = [f"mid_{i:02d}" for i in range(16)]
        run_pk, tis, pinned = _running_run(store, "wide", mids, done=("start",))
        version = pinned if sent_with_the_lock else None
        middle = [tis[name] for name in mids]

        barrier = threading.Barrier(len(middle))
        errors: list[BaseException] = []

        def finish(ti_id: int, task_id: str) -> None:
            runner = TryRunner(settings, store)
            barrier.wait()
            try:
                runner.record(
                    TryEnd(
                        ti_id,
                        1,
                        run_pk,
                        task_id,
                        Returned(),
                        1,
                        version_hash=version,
                    )
                )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=finish, args=(t.id, t.task_id)) for t in middle]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        with store.read() as conn:
            join_state = conn.execute(
                select(task_instance.c.state).where(task_instance.c.id == tis["join"].id)
            ).scalar()
            scheduled_events = conn.execute(
                select(func.count()).where(
                    task_event.c.ti_id == tis["join"].id, task_event.c.kind == "scheduled"
                )
            ).scalar()
    finally:
        store.dispose()
    assert errors == []
    assert join_state in (TaskState.QUEUED.value, TaskState.SCHEDULED.value)
    assert scheduled_events == 1


PAIR_INTO_JOIN = """
    from conveyor import DAG, EmptyOperator

    with DAG("pair") as dag:
        [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")] >> EmptyOperator(
            task_id="join"
        )
"""


@pytest.mark.postgres
@pytest.mark.parametrize("pipeline_mode", [True, False], ids=["pipelined", "old-libpq"])
def test_a_finish_sent_with_the_lock_waits_for_it_and_sees_what_its_holder_committed(
    tmp_path: Path, pg_database_url: str, pipeline_mode: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock and the finish go to PostgreSQL together: the finish must still wait for a
    holder of the run's lock, and then read what the holder committed (its own snapshot is
    taken after the lock). Here the holder finishes ``left``; the waiting record of ``right``
    must find ``left`` done and queue the join. A libpq without pipeline mode sends them
    apart, with the same outcome."""
    monkeypatch.setattr(pipeline, "supported", lambda: pipeline_mode)
    store = Store(pg_database_url, pool=True)
    try:
        dags = parsed_folder(tmp_path, store, "pair.py", PAIR_INTO_JOIN)
        settings = make_settings(tmp_path, dags, pg_database_url, parallelism=8)
        run_pk, tis, version = _running_run(store, "pair", ["left", "right"])

        recorded = threading.Event()
        results = []

        def record_right() -> None:
            runner = TryRunner(settings, store)
            right = tis["right"]
            end = TryEnd(right.id, 1, run_pk, "right", Returned(), 1, version_hash=version)
            results.append(runner.record(end))
            recorded.set()

        with store.write() as holder:
            held = run_lock.lock_run(holder, run_pk)
            waiting = threading.Thread(target=record_right)
            waiting.start()
            assert not recorded.wait(0.5), "the finish did not wait for the run's lock"
            outcome = Outcome(TaskState.SUCCESS, "return")
            assert transitions.finish(holder, held, tis["left"].id, 1, outcome, Actor("test"))
        waiting.join(timeout=30)
        assert recorded.is_set()

        (result,) = results
        assert result.state is TaskState.SUCCESS
        assert [q.task_id for q in result.queued] == ["join"]
        assert result.run is not None and result.run.id == run_pk
        assert result.run.logical_date.tzinfo is not None  # read by the driver, made aware
        with store.read() as conn:
            states = {t.task_id: t.state for t in runs.task_instances(conn, run_pk)}
        assert states == {
            "left": TaskState.SUCCESS,
            "right": TaskState.SUCCESS,
            "join": TaskState.QUEUED,
        }
    finally:
        store.dispose()
