"""A finishing try reads and plans only what it touches, on both stores.

The whole-run reads (``runs.task_instances_and_room``, ``runs.task_instances``) are made to
fail while tries of a 60-task run finish: the hop must still queue what became ready, take
the room each try frees, and leave the wide join waiting, all without them. Only the end of
the run, when nothing of it moves any more, plans the run whole, once, to end it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import event

from conftest import make_settings
from conveyor.engine import progress
from conveyor.engine.report import Happened, Raised, Returned
from conveyor.engine.tries import TryEnd
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import ExitKind, RunState, TaskState
from conveyor.store import frontier_reads, pools, runs, transitions
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner
from run_env import parsed_folder
from shared_dags import fan_dag

WIDE = 60
DAG_FILE = fan_dag("wide", WIDE, max_active_tasks=100)


@pytest.fixture
def runner(tmp_path: Path, store: Store) -> TryRunner:
    dags = parsed_folder(tmp_path, store, "wide.py", DAG_FILE)
    return TryRunner(make_settings(tmp_path, dags, store.url, parallelism=8), store)


def _states(store: Store, run_pk: int) -> dict[str, TaskState]:
    with store.read() as conn:
        return {ti.task_id: ti.state for ti in runs.task_instances(conn, run_pk)}


_IDS: dict[tuple[int, str], int] = {}


def _whole_run(*_: object, **__: object) -> None:
    raise AssertionError("a hop read every task instance of its run")


def _finish(runner: TryRunner, run_pk: int, task_id: str, state: TaskState) -> list[str]:
    """Run the first try of a queued task and record ``state`` as its outcome."""
    if (run_pk, task_id) not in _IDS:
        with runner.store.read() as conn:
            _IDS.update({(run_pk, t.task_id): t.id for t in runs.task_instances(conn, run_pk)})
    ti_id = _IDS[(run_pk, task_id)]
    won = runner._start(ti_id, 1)
    assert won is not None
    version = won[1].version_hash  # as a worker records it: the run's lock goes with the finish
    happened: Happened = Returned()
    if state is TaskState.FAILED:  # its only try: the engine fails it
        happened = Raised(ExitKind.EXCEPTION, "it failed")
    assert state in (TaskState.SUCCESS, TaskState.FAILED)
    end = TryEnd(ti_id, 1, run_pk, task_id, happened, won[0].max_tries, version_hash=version)
    result = runner.record(end)
    return sorted(q.task_id for q in result.queued)


def _running_wide_run(store: Store) -> int:
    """A running run of the wide DAG with its ``start`` queued; its pk."""
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "wide", created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        start = next(t for t in runs.task_instances(conn, run_pk) if t.task_id == "start")
        assert transitions.schedule_and_queue(conn, start.id, 0, "root", "default", Actor("t"))
    return run_pk


def test_tries_of_a_wide_run_finish_without_reading_the_whole_run(
    store: Store, runner: TryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pk = _running_wide_run(store)

    with store.read() as conn:
        _IDS.update({(run_pk, t.task_id): t.id for t in runs.task_instances(conn, run_pk)})
    with monkeypatch.context() as patch:
        patch.setattr(runs, "task_instances_and_room", _whole_run)
        patch.setattr(runs, "task_instances", _whole_run)
        first_wave = _finish(runner, run_pk, "start", TaskState.SUCCESS)
    assert len(first_wave) == 8  # parallelism: the rest wait as scheduled
    states = _states(store, run_pk)
    assert sum(s is TaskState.SCHEDULED for s in states.values()) == WIDE - 8
    assert states["end"] is TaskState.NONE

    for finished in range(1, WIDE + 1):
        queued_now = [t for t, s in _states(store, run_pk).items() if s is TaskState.QUEUED]
        with monkeypatch.context() as patch:
            patch.setattr(runs, "task_instances_and_room", _whole_run)
            patch.setattr(runs, "task_instances", _whole_run)
            queued = _finish(runner, run_pk, sorted(queued_now)[0], TaskState.SUCCESS)
        if finished <= WIDE - 8:
            assert len(queued) == 1, "the room a finished try frees goes to a waiting one"
        elif finished < WIDE:
            assert queued == [], "the join waits while one of its upstream tasks runs"
        else:
            assert queued == ["end"]
    states = _states(store, run_pk)
    assert states["end"] is TaskState.QUEUED  # the join became ready once all had succeeded
    assert _finish(runner, run_pk, "end", TaskState.SUCCESS) == []
    with store.read() as conn:
        assert runs.get_run(conn, run_pk).state is RunState.SUCCESS


def _statements_of(store: Store, action: Callable[[], object]) -> list[str]:
    sent: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_: object) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return sent


def test_a_fan_out_tries_hop_costs_the_same_few_statements_all_through_the_run(
    store: Store, runner: TryRunner
) -> None:
    """Each finishing try of the fan-out (while others wait for room, a wide join below it)
    sends the same statements, whatever is left of the run; on PostgreSQL its finish, the
    reads its plan needs and the sample of the join's unfinished upstream are one of them."""
    run_pk = _running_wide_run(store)
    _finish(runner, run_pk, "start", TaskState.SUCCESS)

    sent = []
    for _ in range(WIDE - 8):  # each one frees the room for one waiting try
        queued_now = sorted(t for t, s in _states(store, run_pk).items() if s is TaskState.QUEUED)
        hop = partial(_finish, runner, run_pk, queued_now[0], TaskState.SUCCESS)
        sent.append(_statements_of(store, hop))
    assert all(hop == sent[0] for hop in sent), "a hop's statements changed with the run"
    if store.engine.dialect.name == "postgresql":
        # The try's start and its try row; the hop: the finish with every read its plan
        # needs (the run's lock goes in front of it, through the driver: see
        # test_fast_path_races), and the waiting try queued with its timeline entry.
        assert sent[0] == ["WITH", "WITH", "WITH", "WITH"]


def test_a_failure_upstream_of_the_join_fails_it_at_once(
    store: Store, runner: TryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pk = _running_wide_run(store)
    _finish(runner, run_pk, "start", TaskState.SUCCESS)
    failing = sorted(t for t, s in _states(store, run_pk).items() if s is TaskState.QUEUED)[0]
    with monkeypatch.context() as patch:
        patch.setattr(
            runs, "task_instances_and_room", lambda *_: (_ for _ in ()).throw(AssertionError)
        )
        _finish(runner, run_pk, failing, TaskState.FAILED)
    assert _states(store, run_pk)["end"] is TaskState.UPSTREAM_FAILED


def test_a_hop_that_saw_other_tries_in_flight_asks_nothing_more_before_the_run_ends(
    store: Store, runner: TryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finishing try that makes nothing ready asks whether anything of its run still moves
    only when its hop's read saw nothing else in flight or waiting: the fan-out's tries skip
    that query (a round trip on PostgreSQL), and the run still ends with its last try."""
    run_pk = _running_wide_run(store)
    asked: list[str] = []
    anything_active = frontier_reads.anything_active

    def spy(conn: object, of_run: int) -> bool:
        active = anything_active(conn, of_run)  # type: ignore[arg-type]
        asked.append(f"{len(finished)}:{active}")
        return active

    monkeypatch.setattr(frontier_reads, "anything_active", spy)
    finished: list[str] = []
    _finish(runner, run_pk, "start", TaskState.SUCCESS)
    while queued := sorted(t for t, s in _states(store, run_pk).items() if s is TaskState.QUEUED):
        _finish(runner, run_pk, queued[0], TaskState.SUCCESS)
        finished.append(queued[0])
    assert finished[-1] == "end" and len(finished) == WIDE + 1
    # Only the run's last try, seeing nothing else in flight, asked; and it found nothing.
    assert asked == [f"{WIDE}:False"]
    with store.read() as conn:
        assert runs.get_run(conn, run_pk).state is RunState.SUCCESS


POOLED_DAG = f"""
    from conveyor import DAG, EmptyOperator

    with DAG("pooled", max_active_tasks=100) as dag:
        for i in range({WIDE}):
            # The highest priorities all want a pool that has no slot free.
            pool = "shut" if i < 40 else "default_pool"
            EmptyOperator(task_id=f"t{{i:02d}}", pool=pool, priority_weight=100 - i)
"""


def test_the_loops_dispatch_reads_no_more_scheduled_tries_than_it_needs(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dispatch reads the run's scheduled tries by priority, as many as there is room for,
    and reads further only past tries that wait on a pool: it never reads the whole run,
    and still admits what admission over every try would."""
    dags = tmp_path / "pooled"
    dags.mkdir()
    (dags / "pooled.py").write_text(textwrap.dedent(POOLED_DAG))
    DagFileProcessor(store, dags, timeout=10, scan_every=60).sync()
    with store.write() as conn:
        pools.set_pool(conn, "shut", 0)
        run_pk = runs.create_manual_run(conn, "pooled", created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        for ti in runs.task_instances(conn, run_pk):
            assert transitions.schedule(conn, ti.id, TaskState.NONE, 0, "ready", Actor("t"))

    read: list[int] = []
    waiting_for_room = frontier_reads.waiting_for_room

    def counted(conn: object, run: int, limit: int) -> list[object]:
        found = waiting_for_room(conn, run, limit)  # type: ignore[arg-type]
        read.append(len(found))
        return found  # type: ignore[return-value]

    with monkeypatch.context() as patch:
        patch.setattr(runs, "task_instances", _whole_run)
        patch.setattr(frontier_reads, "waiting_for_room", counted)
        with store.write() as conn:
            queued = progress.queue_scheduled(conn, run_pk, Actor("t"), limit=3)
    # The 40 highest priorities wait on the shut pool; the next three by priority go.
    assert sorted(q.task_id for q in queued) == ["t40", "t41", "t42"]
    assert read == [3, 12, 48]  # widened only while the first ones waited on their pool

    read.clear()
    with monkeypatch.context() as patch:
        patch.setattr(runs, "task_instances", _whole_run)
        patch.setattr(frontier_reads, "waiting_for_room", counted)
        with store.write() as conn:
            pools.set_pool(conn, "shut", 5)
            queued = progress.queue_scheduled(conn, run_pk, Actor("t"), limit=2)
    assert sorted(q.task_id for q in queued) == ["t00", "t01"]
    assert read == [2]  # room filled by the first tries read: nothing more was read
