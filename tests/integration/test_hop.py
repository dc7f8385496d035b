"""A hop's transactions (store/hop/steps.py) write the same rows on both stores.

On PostgreSQL a hop is a few statements with data-modifying CTEs; on SQLite the same
functions make one move per statement. Each test drives a real try through the runner's
start and record steps and checks what the store holds: states, try rows and the timeline.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select

from conftest import make_settings
from conveyor.engine.progress import QueuedTry
from conveyor.engine.report import Returned
from conveyor.engine.tries import TryEnd
from conveyor.lifecycle import Actor
from conveyor.states import RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import _READ_ONLY, Store
from conveyor.store.tables import task_event, task_instance, task_try
from conveyor.worker.runner import TryRunner
from run_env import parsed_folder

DAG_FILE = """
    from conveyor import DAG, EmptyOperator

    with DAG("hops") as dag:
        first = EmptyOperator(task_id="first", queue="etl")
        first >> [EmptyOperator(task_id="left", queue="etl"), EmptyOperator(task_id="right")]
"""


@pytest.fixture
def runner(tmp_path: Path, store: Store) -> TryRunner:
    dags = parsed_folder(tmp_path, store, "hops.py", DAG_FILE)
    return TryRunner(make_settings(tmp_path, dags, store.url), store)


def _first_queued(store: Store) -> tuple[int, int]:
    """A run of ``hops`` with its root queued, as the scheduler leaves it."""
    actor = Actor("test")
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "hops", created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        first = next(t for t in runs.task_instances(conn, run_pk) if t.task_id == "first")
        assert transitions.schedule_and_queue(conn, first.id, 0, "root", "etl", actor)
    return run_pk, first.id


def _states(store: Store, run_pk: int) -> dict[str, TaskState]:
    with store.read() as conn:
        return {t.task_id: t.state for t in runs.task_instances(conn, run_pk)}


def _timeline(store: Store, run_pk: int) -> dict[str, list[tuple[int, str, object]]]:
    with store.read() as conn:
        rows = conn.execute(
            select(task_instance.c.task_id, task_event.c.try_number, task_event.c.kind)
            .add_columns(task_event.c.detail)
            .join(task_event, task_event.c.ti_id == task_instance.c.id)
            .where(task_instance.c.run_pk == run_pk)
            .order_by(task_event.c.id)
        ).all()
    found: dict[str, list[tuple[int, str, object]]] = {}
    for task_id, try_number, kind, detail in rows:
        found.setdefault(task_id, []).append((try_number, kind, detail))
    return found


def test_a_hop_records_the_try_and_queues_what_became_ready(
    store: Store, runner: TryRunner
) -> None:
    run_pk, first_id = _first_queued(store)
    won = runner._start(first_id, 1)
    assert won is not None
    started, run = won
    assert (started.task_id, started.max_tries, run.id, run.state) == (
        "first",
        1,
        run_pk,
        RunState.RUNNING,
    )
    assert runner._start(first_id, 1) is None  # a duplicate message starts nothing

    result = runner.record(TryEnd(first_id, 1, run_pk, "first", Returned(), 1))

    assert result.state is TaskState.SUCCESS
    assert sorted((q.task_id, q.queue, q.try_number) for q in result.queued) == [
        ("left", "etl", 1),
        ("right", "default", 1),
    ]
    with store.read() as conn:
        states = {t.task_id: (t.state, t.try_number) for t in runs.task_instances(conn, run_pk)}
        closed = conn.execute(
            select(
                task_try.c.state, task_try.c.exit_kind, task_try.c.duration, task_try.c.end_date
            ).where(task_try.c.ti_id == first_id)
        ).one()
        ti_end = conn.execute(
            select(task_instance.c.end_date).where(task_instance.c.id == first_id)
        ).scalar()
    assert states == {
        "first": (TaskState.SUCCESS, 1),
        "left": (TaskState.QUEUED, 1),
        "right": (TaskState.QUEUED, 1),
    }
    assert closed.state == "success" and closed.exit_kind == "return"
    assert closed.duration is not None and closed.duration >= 0
    # The result says the end the record gave the try: its listeners need not read it.
    assert result.ended_at is not None and result.ended_at == closed.end_date == ti_end
    timeline = _timeline(store, run_pk)
    assert [(n, kind) for n, kind, _ in timeline["first"]] == [
        (1, "scheduled"),
        (1, "queued"),
        (1, "started"),
        (1, "success"),
    ]
    started_detail = timeline["first"][2][2]
    assert isinstance(started_detail, dict) and started_detail["log_path"].endswith("try-1.log")
    assert timeline["first"][3][2] == {"exit_kind": "return", "error": None}
    for task_id, queue in (("left", "etl"), ("right", "default")):
        assert timeline[task_id] == [(1, "scheduled", None), (1, "queued", {"queue": queue})]


def test_a_try_no_longer_running_is_not_finished_again(store: Store, runner: TryRunner) -> None:
    """A timeout or a person got there first: the hop writes nothing and queues nothing."""
    run_pk, first_id = _first_queued(store)
    assert runner._start(first_id, 1) is not None
    with store.write() as conn:
        transitions.set_by_hand(conn, first_id, TaskState.FAILED, Actor("user:ann"), retries=0)
    before = _timeline(store, run_pk)

    result = runner.record(TryEnd(first_id, 1, run_pk, "first", Returned(), 1))

    assert result.state is None and result.queued == []
    assert _timeline(store, run_pk) == before
    assert _states(store, run_pk) == {
        "first": TaskState.FAILED,
        "left": TaskState.NONE,
        "right": TaskState.NONE,
    }


def test_ready_tasks_beyond_the_room_wait_as_scheduled(tmp_path: Path, store: Store) -> None:
    """With room for one more try in the store, one ready task is queued and the other waits
    as scheduled for the scheduler loop, numbered and explained the same on both stores."""
    dags = parsed_folder(tmp_path, store, "hops.py", DAG_FILE)
    runner = TryRunner(make_settings(tmp_path, dags, store.url, parallelism=1), store)
    run_pk, first_id = _first_queued(store)
    assert runner._start(first_id, 1) is not None

    result = runner.record(TryEnd(first_id, 1, run_pk, "first", Returned(), 1))

    assert len(result.queued) == 1
    with store.read() as conn:
        states = {t.task_id: (t.state, t.try_number) for t in runs.task_instances(conn, run_pk)}
    waiting = ({"left", "right"} - {result.queued[0].task_id}).pop()
    assert states[result.queued[0].task_id] == (TaskState.QUEUED, 1)
    assert states[waiting] == (TaskState.SCHEDULED, 1)
    assert [(n, kind) for n, kind, _ in _timeline(store, run_pk)[waiting]] == [(1, "scheduled")]


@pytest.mark.postgres
def test_a_message_that_comes_before_its_try_is_queued_waits_for_it(
    tmp_path: Path, pg_database_url: str
) -> None:
    """Tries are published before the statement that queues them, inside that transaction.
    A worker that gets the message first must wait for the transaction, then start the try,
    and never give it up as "started elsewhere"."""
    store = Store(pg_database_url)
    try:
        dags = parsed_folder(tmp_path, store, "hops.py", DAG_FILE)
        settings = make_settings(tmp_path, dags, store.url, parallelism=1)
        receiver = TryRunner(settings, store)
        started: list[object] = []
        committed_at: list[float] = []

        def receive_early(tries: list[QueuedTry]) -> None:
            """The broker delivers at once; the sender stays slow until its commit."""
            work = tries[0]

            def start() -> None:
                won = receiver._start(work.ti_id, work.try_number)
                started.append((time.monotonic(), won))

            thread = threading.Thread(target=start)
            thread.start()
            threads.append(thread)
            time.sleep(0.3)

        threads: list[threading.Thread] = []
        sender = TryRunner(settings, store, publish=receive_early)
        run_pk, first_id = _first_queued(store)
        assert sender._start(first_id, 1) is not None
        result = sender.record(TryEnd(first_id, 1, run_pk, "first", Returned(), 1))
        committed_at.append(time.monotonic())
        for thread in threads:
            thread.join(timeout=30)
    finally:
        store.dispose()
    [work] = result.queued
    [(returned_at, won)] = started
    assert won is not None, "the early receiver gave the try up"
    assert won[0].ti_id == work.ti_id and won[0].try_number == 1
    assert returned_at >= committed_at[0] - 0.05  # it waited for the sender's commit


def test_a_try_reads_its_dag_structure_before_its_record_takes_the_write_lock(
    store: Store, runner: TryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process's first try of a DAG version parses the version's structure while it loads
    the DAG, in a read transaction: the record plans with it under the store's write lock,
    where parsing a DAG of thousands of tasks held every other process up."""
    run_pk, first_id = _first_queued(store)
    monkeypatch.setattr(runs, "_cache", type(runs._cache)())  # as a new process has it
    version_reads: list[bool] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "dag_version" in statement and "serialized" in statement:
            version_reads.append(bool(conn.get_execution_options().get(_READ_ONLY)))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        runner.output = "python"
        result = runner.run(first_id, 1)
    finally:
        event.remove(store.engine, "before_cursor_execute", note)

    assert result.state is TaskState.SUCCESS
    assert version_reads, "the try never read its DAG version"
    assert all(version_reads), "a write transaction parsed the DAG version"
    assert _states(store, run_pk) == {
        "first": TaskState.SUCCESS,
        "left": TaskState.QUEUED,
        "right": TaskState.QUEUED,
    }
