"""Every declared move, every step of it, through both renderers, on both stores.

Each step (from, to) of each move of ``lifecycle.py`` is made a statement at a time
(``transitions.make_move``) and writes what ``store/moves.py`` declares for it; each move
the hop folds (``steps.FOLDED_MOVES``) writes, folded, what its single form writes. On
SQLite the folded forms are the single statements; on PostgreSQL they are the CTEs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import test_move_rendering as rendering
from sqlalchemy import Connection, select, update
from test_move_rendering import ACTOR, LATER, NOW, _at, _same_rows

from conveyor import lifecycle
from conveyor.lifecycle import Outcome, TaskMove
from conveyor.states import ExitKind, TaskState
from conveyor.store import frontier_reads, moves, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock, steps
from conveyor.store.tables import task_instance, task_try
from run_env import manual_run, parsed_folder

S = TaskState
DAG_FILE = """
    from conveyor import DAG, EmptyOperator

    with DAG("walk") as dag:
        for name in ("single", "folded"):
            EmptyOperator(task_id=name, queue="etl", retries=3)
"""
#: A value for each column a caller gives (``moves.Given``), by its name.
GIVEN: dict[str, Any] = {
    "hostname": "h",
    "pid": 9,
    "log_path": "/logs/1.log",
    "retry_at": LATER,
    "next_method": "execute_complete",
    "next_kwargs": {"event": 1},
    "exit_kind": "exception",
    "error": "boom",
}
#: How a try reaches each state a finish from running reaches.
EXIT: dict[TaskState, ExitKind] = {
    S.SUCCESS: ExitKind.RETURN,
    S.FAILED: ExitKind.EXCEPTION,
    S.UP_FOR_RETRY: ExitKind.EXCEPTION,
    S.SKIPPED: ExitKind.SKIP,
    S.UP_FOR_RESCHEDULE: ExitKind.RESCHEDULE,
    S.DEFERRED: ExitKind.DEFERRED,
}
STEPS = [
    pytest.param(move, start, to, id=f"{move.name}:{start}->{to}")
    for move in lifecycle.SINGLE_MOVES
    for start, to in sorted(move.steps)
]


@pytest.fixture
def pair(tmp_path: Path, store: Store) -> tuple[int, int, int]:
    """A run with two task instances in ``none``: one for each form of a move."""
    parsed_folder(tmp_path, store, "walk.py", DAG_FILE)
    with store.write() as conn:
        run_pk = manual_run(conn, "walk")
        tis = {t.task_id: t.id for t in runs.task_instances(conn, run_pk)}
    return run_pk, tis["single"], tis["folded"]


def _running(conn: Connection, ti_id: int) -> None:
    """none -> queued -> running, try 1, its try's row open: as a real try gets there."""
    assert transitions.schedule_and_queue(conn, ti_id, 0, "ready", "etl", ACTOR)
    assert transitions.start_try(conn, ti_id, 1, hostname="h", pid=9, actor=ACTOR)


def _place(conn: Connection, ti_id: int, state: TaskState) -> None:
    """The task instance in ``state`` at try 1 (running: by the real moves)."""
    if state is S.RUNNING:
        _running(conn, ti_id)
        return
    ti = task_instance.c
    conn.execute(update(task_instance).where(ti.id == ti_id).values(state=state, try_number=1))


def _expected(value: moves.ColumnValue, before: Any, start: TaskState, to: TaskState) -> Any:
    if isinstance(value, moves.Given):
        return GIVEN[value.name]
    if isinstance(value, moves.CountedIfContinued):  # a dispatch that continues its try
        return getattr(before, value.name) + (start in lifecycle.NOT_A_RETRY)
    if value is moves.START_UNLESS_RESUMING:  # a resumption keeps its try's start
        return before.start_date if before.next_method is not None else NOW
    return {
        moves.NOW: NOW,
        moves.NULL: None,
        moves.NEXT_TRY: before.try_number + 1,
        moves.ONE_MORE_TRY: before.max_tries + 1,
        moves.TO: to.value,
    }[value]


@pytest.mark.parametrize(("move", "start", "to"), STEPS)
def test_every_step_of_every_move_writes_what_its_declaration_says(
    store: Store,
    pair: tuple[int, int, int],
    monkeypatch: pytest.MonkeyPatch,
    move: TaskMove,
    start: TaskState,
    to: TaskState,
) -> None:
    _run_pk, ti_id, _ = pair
    _at(monkeypatch, NOW)
    with store.write() as conn:
        _place(conn, ti_id, start)
        before = conn.execute(select(task_instance).where(task_instance.c.id == ti_id)).one()
        given = {
            name.name: GIVEN[name.name]
            for name in moves.sets_of(move).values()
            if isinstance(name, moves.Given)
        }
        moved = transitions.make_move(
            conn, move, ti_id, 1, now=NOW, to=to, expected=[start], given=given
        )
        assert moved and moved.found is to
        # The same step again loses: the guard holds, whatever the move.
        assert not transitions.make_move(
            conn, move, ti_id, 1, now=NOW, to=to, expected=[start], given=given
        )
    with store.read() as conn:
        after = conn.execute(select(task_instance).where(task_instance.c.id == ti_id)).one()
    assert after.state == to.value
    assert after.updated_at == NOW
    for column, value in moves.sets_of(move).items():
        assert getattr(after, column) == _expected(value, before, start, to), column


def test_a_step_a_move_does_not_declare_is_refused_before_any_statement() -> None:
    for move in lifecycle.SINGLE_MOVES:
        for start in set(TaskState) - move.from_states:
            with pytest.raises(lifecycle.IllegalMove):
                transitions.make_move(
                    None,  # type: ignore[arg-type]
                    move,
                    1,
                    1,
                    now=NOW,
                    to=next(iter(move.to_states)),
                    expected=[start],
                )


@pytest.mark.parametrize("hop", [False, True], ids=["finish_and_read", "finish_and_read_hop"])
@pytest.mark.parametrize("to", sorted(EXIT))
def test_every_finish_of_a_running_try_folded_writes_what_the_single_finish_writes(
    store: Store,
    pair: tuple[int, int, int],
    monkeypatch: pytest.MonkeyPatch,
    to: TaskState,
    hop: bool,
) -> None:
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    with store.write() as conn:
        for ti_id in (single, folded):
            _running(conn, ti_id)
    _at(monkeypatch, LATER)
    waits = to in (S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE)
    outcome = Outcome(to, EXIT[to], "boom", retry_at=LATER if waits else None)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.finish(conn, run, single, 1, outcome, ACTOR)
        finish = steps.Finish(folded, 1, outcome, ACTOR, at=LATER)
        if hop:
            reads = frontier_reads.FrontierReads(conn, run_pk)
            assert steps.finish_and_read_hop(
                conn, run, reads, finish, task_ids=["single"], waiting_bound=8, now=LATER
            )
        else:
            assert steps.finish_and_read(conn, run, finish)
    _same_rows(store, single, folded)
    with store.read() as conn:
        state = conn.execute(select(task_try.c.state).where(task_try.c.ti_id == folded)).scalar()
    assert state == to.value


def test_the_folded_queueing_of_a_try_that_waited_writes_what_the_single_one_writes(
    store: Store, pair: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pk, single, folded = pair
    _at(monkeypatch, NOW)
    with store.write() as conn:
        for ti_id in (single, folded):
            assert transitions.schedule(conn, ti_id, S.NONE, 0, "no room", ACTOR)
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        assert transitions.queue(conn, single, 1, "etl", ACTOR)
        assert steps.queue_waiting(conn, run, [steps.Ready(folded, 1, "", "etl")], ACTOR) == {
            folded
        }
    _same_rows(store, single, folded, tried=False)


#: Where each folded move is held to its single form: here, or in test_move_rendering.py.
FOLDED_TESTS: dict[str, Any] = {
    "finish": test_every_finish_of_a_running_try_folded_writes_what_the_single_finish_writes,
    "queue": test_the_folded_queueing_of_a_try_that_waited_writes_what_the_single_one_writes,
    "start": rendering.test_the_hop_forms_of_queue_start_and_finish_write_what_the_single_moves_write,  # noqa: E501
    "schedule_and_queue": (
        rendering.test_the_hop_forms_of_queue_start_and_finish_write_what_the_single_moves_write
    ),
    "schedule": rendering.test_the_hop_form_of_schedule_writes_what_the_single_move_writes,
    "schedule_queue_and_start": (
        rendering.test_a_queue_and_start_in_one_move_writes_what_the_single_moves_write
    ),
    "queue_and_start": (
        rendering.test_a_queue_and_start_in_one_move_writes_what_the_single_moves_write
    ),
}


def test_every_folded_move_is_held_to_its_single_form() -> None:
    """A move the hop folds has a test that holds the folded form to the single one."""
    assert set(FOLDED_TESTS) == {move.name for move in steps.FOLDED_MOVES}
    assert all(callable(test) for test in FOLDED_TESTS.values())
