"""The guarded state moves of ``store/transitions.py``, against SQLite and PostgreSQL.

Every (from, to) pair of task states is walked: listed moves win once and lose the second
identical attempt (the lost race a duplicate message or a second scheduler sees), unlisted
moves are refused as bugs. Races that matter are run for real, from threads with connections
of their own, and the SQLite store is hammered by several processes at once.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from conveyor import DAG, EmptyOperator
from conveyor.clock import utcnow
from conveyor.engine.hand_back import hand_back
from conveyor.lifecycle import TASK_MOVES, Actor, IllegalMove
from conveyor.loading.serialize import serialize_dag
from conveyor.model.context import DagContext
from conveyor.states import RunState, TaskState
from conveyor.store import dags, runs, schema, transitions
from conveyor.store.dags import ParsedFile
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock
from conveyor.store.tables import dag_run, scheduler, task_event, task_instance, task_try

ACTOR = Actor("test")
DAY = datetime(2024, 1, 1, tzinfo=UTC)


def _save_dag(store: Store, dag_id: str = "moves") -> None:
    """Store a one-task DAG as the file processor would, without a file or a child process."""
    with DAG(dag_id, start_date=DAY) as built:
        EmptyOperator(task_id="only")
    DagContext.created.remove(built)  # not a file's DAG: keep the loader's list clean
    parsed = ParsedFile(f"/virtual/{dag_id}.py", "# virtual", [serialize_dag(built)], None, 0.0)
    with store.write() as conn:
        dags.save_parsed_file(conn, parsed, paused_at_creation=False)


def _create_run(
    store: Store, run_type: str, logical_date: datetime, dag_id: str = "moves"
) -> int | None:
    with store.write() as conn:
        version, structure = runs.latest_version(conn, dag_id)
        return runs.create_run(
            conn,
            dag_id=dag_id,
            version_hash=version,
            structure=structure,
            run_type=run_type,
            logical_date=logical_date,
            interval=(logical_date, logical_date),
            created_by="test",
        )


@pytest.fixture
def ti_id(store: Store) -> int:
    """The id of the one task instance of a fresh manual run."""
    _save_dag(store)
    run_pk = _create_run(store, "manual", DAY)
    assert run_pk is not None
    with store.read() as conn:
        return runs.task_instances(conn, run_pk)[0].id


def _put(store: Store, ti_id: int, state: TaskState, try_number: int = 1) -> None:
    """Set up a row in a given state (a fixture's write, not an engine move)."""
    with store.write() as conn:
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id == ti_id)
            .values(state=state.value, try_number=try_number)
        )


def _state(store: Store, ti_id: int) -> tuple[TaskState, int]:
    with store.read() as conn:
        row = conn.execute(
            select(task_instance.c.state, task_instance.c.try_number).where(
                task_instance.c.id == ti_id
            )
        ).one()
    return TaskState(row.state), row.try_number


def _move(store: Store, ti_id: int, start: TaskState, to: TaskState, try_number: int) -> bool:
    with store.write() as conn:
        return transitions.move_task(conn, ti_id, expected=[start], to=to, try_number=try_number)


def test_every_pair_of_task_states(store: Store, ti_id: int) -> None:
    problems = []
    for start, to in itertools.product(TaskState, repeat=2):
        _put(store, ti_id, start)
        if (start, to) not in TASK_MOVES:
            with pytest.raises(IllegalMove):
                _move(store, ti_id, start, to, 1)
            if _state(store, ti_id) != (start, 1):
                problems.append(f"refused {start} -> {to} still changed the row")
            continue
        if not _move(store, ti_id, start, to, 1):
            problems.append(f"{start} -> {to} lost with nobody racing")
        elif _move(store, ti_id, start, to, 1):
            problems.append(f"{start} -> {to} won twice")
        if _state(store, ti_id) != (to, 1):
            problems.append(f"{start} -> {to} left {_state(store, ti_id)}")
    assert problems == []


def test_a_move_for_another_try_is_refused(store: Store, ti_id: int) -> None:
    _put(store, ti_id, TaskState.RUNNING, try_number=2)
    assert not _move(store, ti_id, TaskState.RUNNING, TaskState.SUCCESS, 1)
    assert _state(store, ti_id) == (TaskState.RUNNING, 2)
    assert _move(store, ti_id, TaskState.RUNNING, TaskState.SUCCESS, 2)


def test_schedule_numbers_the_next_try_once(store: Store, ti_id: int) -> None:
    _put(store, ti_id, TaskState.UP_FOR_RETRY, try_number=1)
    with store.write() as conn:
        assert transitions.schedule(conn, ti_id, TaskState.UP_FOR_RETRY, 1, "due", ACTOR)
        assert not transitions.schedule(conn, ti_id, TaskState.UP_FOR_RETRY, 1, "due", ACTOR)
    assert _state(store, ti_id) == (TaskState.SCHEDULED, 2)


def test_a_handed_back_try_is_up_for_retry_at_once_with_one_more_try(
    store: Store, ti_id: int
) -> None:
    """``lifecycle.HAND_BACK``: the try is closed as a signal's, and the task keeps its retries."""
    with store.write() as conn:
        run_pk = conn.execute(
            select(task_instance.c.run_pk).where(task_instance.c.id == ti_id)
        ).scalar_one()
        max_tries = conn.execute(
            select(task_instance.c.max_tries).where(task_instance.c.id == ti_id)
        ).scalar_one()
    _put(store, ti_id, TaskState.QUEUED)
    with store.write() as conn:
        assert transitions.start_try(conn, ti_id, 1, hostname="h", pid=1, actor=ACTOR)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.hand_back(conn, run, ti_id, 1, "the worker stopped", ACTOR)
        assert not transitions.hand_back(conn, run, ti_id, 1, "the worker stopped", ACTOR)
    with store.read() as conn:
        ti = conn.execute(select(task_instance).where(task_instance.c.id == ti_id)).one()
        tried = conn.execute(select(task_try).where(task_try.c.ti_id == ti_id)).one()
    assert (TaskState(ti.state), ti.try_number, ti.max_tries) == (
        TaskState.UP_FOR_RETRY,
        1,
        max_tries + 1,
    )
    assert ti.retry_at is not None and ti.retry_at <= utcnow() and ti.heartbeat_at is None
    assert (tried.state, tried.exit_kind, tried.error) == (
        "up_for_retry",
        "signal",
        "the worker stopped",
    )
    assert tried.end_date is not None and tried.duration is not None


def test_a_stopping_worker_hands_back_the_tries_its_processes_hold(
    store: Store, ti_id: int
) -> None:
    """``engine.hand_back``: the tries named, or held by the pids given on the host, each
    handed back under its run's lock; a second hand-back finds nothing running."""
    _put(store, ti_id, TaskState.QUEUED)
    with store.write() as conn:
        assert transitions.start_try(conn, ti_id, 1, hostname="h", pid=7, actor=ACTOR)
    assert hand_back(store, [], "h", [8], reason="stopped", actor=ACTOR) == []
    assert hand_back(store, [], "h", [7], reason="stopped", actor=ACTOR) == [ti_id]
    assert _state(store, ti_id) == (TaskState.UP_FOR_RETRY, 1)
    assert hand_back(store, [ti_id], "h", [7], reason="stopped", actor=ACTOR) == []


def test_each_declared_move_of_a_run_wins_once(store: Store) -> None:
    """queued -> running -> success through the declared moves, each refused the second time,
    and a run's timeout only from running."""
    _save_dag(store)
    ended = _create_run(store, "manual", DAY)
    timed_out = _create_run(store, "manual", datetime(2024, 1, 2, tzinfo=UTC))
    assert ended is not None and timed_out is not None
    now = utcnow()
    with store.write() as conn:
        assert transitions.start_run(conn, ended, now=now)
        assert not transitions.start_run(conn, ended, now=now)
        assert transitions.start_run(conn, timed_out, now=now)
        run = run_lock.lock_run(conn, ended)
        assert transitions.end_run(conn, run, RunState.SUCCESS, "all done", now=now)
        assert not transitions.end_run(conn, run, RunState.FAILED, "again", now=now)
        late = run_lock.lock_run(conn, timed_out)
        assert transitions.time_out_run(conn, late, "too long", now=now)
        assert not transitions.time_out_run(conn, late, "too long", now=now)
        with pytest.raises(IllegalMove):
            transitions.end_run(conn, run, RunState.RUNNING, "no", now=now)
    with store.read() as conn:
        rows = {
            row.id: row
            for row in conn.execute(select(dag_run).where(dag_run.c.id.in_([ended, timed_out])))
        }
    assert (rows[ended].state, rows[ended].note) == ("success", "all done")
    assert (rows[timed_out].state, rows[timed_out].note) == ("failed", "too long")
    assert rows[ended].start_date is not None and rows[ended].end_date is not None


def _race_to_start(store: Store, ti_id: int, try_number: int) -> list[bool]:
    """Two threads, each with its own connection, start the same try at the same moment."""
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def start(pid: int) -> None:
        barrier.wait()
        with store.write() as conn:
            won = transitions.start_try(
                conn,
                ti_id,
                try_number,
                hostname="h",
                pid=pid,
                actor=ACTOR,
            )
        results.append(won is not None)  # whether it won

    threads = [threading.Thread(target=start, args=(pid,)) for pid in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_concurrent_starts_of_one_try_let_exactly_one_win(store: Store, ti_id: int) -> None:
    for try_number in range(1, 6):  # a few rounds: a race won by luck once proves little
        _put(store, ti_id, TaskState.QUEUED, try_number=try_number)
        assert sorted(_race_to_start(store, ti_id, try_number)) == [False, True]
        with store.read() as conn:
            tries = conn.execute(
                select(func.count()).where(
                    task_try.c.ti_id == ti_id, task_try.c.try_number == try_number
                )
            ).scalar()
            started = conn.execute(
                select(func.count()).where(
                    task_event.c.ti_id == ti_id,
                    task_event.c.try_number == try_number,
                    task_event.c.kind == "started",
                )
            ).scalar()
        assert (tries, started) == (1, 1)
        assert _state(store, ti_id) == (TaskState.RUNNING, try_number)


def test_one_scheduled_run_per_tick_but_manual_runs_may_share_the_date(store: Store) -> None:
    _save_dag(store)
    tick = datetime(2024, 2, 1, tzinfo=UTC)
    assert _create_run(store, "scheduled", tick) is not None
    assert _create_run(store, "scheduled", tick) is None  # a second scheduler lost the race
    assert _create_run(store, "manual", tick) is not None
    with store.read() as conn:
        run_types = sorted(
            conn.execute(select(dag_run.c.run_type).where(dag_run.c.logical_date == tick))
            .scalars()
            .all()
        )
    assert run_types == ["manual", "scheduled"]


# -- SQLite under concurrent writers ----------------------------------------------------------

WRITES_PER_PROCESS = 200


def _writer(url: str, name: str) -> None:
    store = Store(url)
    for n in range(WRITES_PER_PROCESS):
        now = utcnow()
        with store.write() as conn:
            # Read then write in one transaction: the pattern that deadlocks without
            # BEGIN IMMEDIATE ("database is locked" at the upgrade to a write lock).
            conn.execute(select(func.count()).select_from(scheduler)).scalar()
            conn.execute(
                insert(scheduler).values(
                    id=f"{name}-{n}", hostname=name, pid=n, started_at=now, heartbeat_at=now
                )
            )
    store.dispose()


def _reader(url: str, stop_at: int) -> None:
    store = Store(url)
    seen = 0
    while seen < stop_at:
        with store.read() as conn:
            seen = conn.execute(select(func.count()).select_from(scheduler)).scalar() or 0
    store.dispose()


def test_sqlite_takes_concurrent_writers_and_readers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    store = Store(url)
    schema.migrate(store)
    total = 4 * WRITES_PER_PROCESS
    context = multiprocessing.get_context("forkserver")
    processes = [context.Process(target=_writer, args=(url, f"w{i}")) for i in range(4)]
    processes += [context.Process(target=_reader, args=(url, total)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=90)
    assert [p.exitcode for p in processes] == [0] * len(processes)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(scheduler)).scalar() == total
    store.dispose()


def test_a_worker_heartbeats_the_tries_its_messages_name_and_its_busy_processes_hold(
    store: Store,
) -> None:
    _save_dag(store)
    days = [datetime(2024, 1, day, tzinfo=UTC) for day in range(1, 6)]
    ids = []
    for day in days:
        run_pk = _create_run(store, "manual", day)
        assert run_pk is not None
        with store.read() as conn:
            ids.append(runs.task_instances(conn, run_pk)[0].id)
    named, kept, other_host, idle_process, finished = ids
    holders = {
        named: ("here", 10, TaskState.RUNNING),
        kept: ("here", 11, TaskState.RUNNING),  # started by a busy process after its message
        other_host: ("there", 11, TaskState.RUNNING),
        idle_process: ("here", 12, TaskState.RUNNING),  # left by a process with no message
        finished: ("here", 11, TaskState.SUCCESS),
    }
    with store.write() as conn:
        for ti_id, (hostname, pid, state) in holders.items():
            conn.execute(
                update(task_instance)
                .where(task_instance.c.id == ti_id)
                .values(state=state.value, try_number=1, hostname=hostname, pid=pid)
            )
    with store.write() as conn:
        refreshed = transitions.heartbeat(conn, [named], "here", [11])
    with store.read() as conn:
        held = transitions.tries_held(conn, [named], "here", [11])
        beats = {
            row.id: row.heartbeat_at
            for row in conn.execute(select(task_instance.c.id, task_instance.c.heartbeat_at))
        }
    assert sorted(refreshed) == sorted([named, kept])
    assert sorted(held) == sorted([(named, 1), (kept, 1)])
    assert {ti_id for ti_id, beat in beats.items() if beat is not None} == {named, kept}
    with store.write() as conn:
        assert transitions.heartbeat(conn, [], "here", []) == []
