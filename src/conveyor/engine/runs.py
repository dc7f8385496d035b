"""A run's moves: it starts, ends, times out, and has its tries handed back.

Every move of a run the engine makes is declared in ``lifecycle.py`` (``RUN_START``,
``RUN_SUCCEED``, ``RUN_FAIL``, ``RUN_TIME_OUT``, and the task move ``HAND_BACK``) and made
here, under the run's lock wherever more than the run's row is written: the lock is taken
first, as every writer of a run's moves takes it (``store/hop/run_lock.py``). Who asks:

- the scheduler loop starts a queued run once ``max_active_runs`` leaves room
  (:func:`start_run`), and fails a run past its ``dagrun_timeout`` (:func:`time_out_run`),
  stopping its running tries;
- a run's plan ends it (:func:`end_run`, from ``engine.progress``);
- a Celery worker that stops hands back the tries it still runs (:func:`hand_back`).

The process whose move ends a run asks for the DAG's callback, in the same transaction, so
it is asked for exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from conveyor import callbacks
from conveyor.clock import utcnow
from conveyor.engine.policy import Rule, always, follow
from conveyor.lifecycle import Actor
from conveyor.serialized import SerializedDag
from conveyor.states import FINISHED, RunState, TaskState
from conveyor.store import plan_requests, runs, transitions, workers
from conveyor.store.engine import Connection, Store
from conveyor.store.hop import run_lock
from conveyor.store.hop.run_lock import LockedRun


def start_run(conn: Connection, run_pk: int, *, now: datetime | None = None) -> bool:
    """queued -> running; True if this call started it. Takes no lock: no try of a queued
    run can write yet, and the loop that starts it holds its DAG's row."""
    return transitions.start_run(conn, run_pk, now=now or utcnow())


def end_run(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    state: RunState,
    reason: str,
    now: datetime,
) -> bool:
    """running -> ``state`` (success or failed), as the run's plan says; the process that
    ends it asks for the DAG's callback. True if this call ended it."""
    if not transitions.end_run(conn, run, state, reason, now=now):
        return False
    callbacks.request_run_end(conn, run.id, structure, state, reason)
    return True


def time_out_run(
    store: Store,
    run_pk: int,
    structure: SerializedDag,
    timeout: timedelta,
    actor: Actor,
    now: datetime,
) -> bool:
    """Fail a run past its ``dagrun_timeout``, in one transaction under its lock, as Airflow
    does: every unfinished task instance is skipped, a running try's process is stopped
    (``store/stops.py``), and the failure callback is requested. True if this call failed it."""
    reason = (
        f"{callbacks.TIMED_OUT}: running longer than dagrun_timeout ({timeout.total_seconds():g}s)"
    )
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        if not transitions.time_out_run(conn, run, reason, now=now):
            return False
        for ti in runs.task_instances(conn, run_pk):
            if ti.state is TaskState.NONE:
                transitions.finish_without_running(
                    conn, ti.id, TaskState.SKIPPED, ti.try_number, reason, actor
                )
            elif ti.state not in FINISHED:
                transitions.override(
                    conn,
                    ti.id,
                    TaskState.SKIPPED,
                    actor,
                    retries=0,
                    kind="skipped",
                    why="skipped by the run's timeout",
                    note=reason,
                )
        callbacks.request_run_end(conn, run_pk, structure, RunState.FAILED, reason)
        if structure.any_depends_on_past:
            plan_requests.request_plan_of_next_run(conn, run)
    return True


def hand_back(
    store: Store,
    ti_ids: list[int],
    hostname: str,
    pids: Iterable[int],
    *,
    reason: str,
    actor: Actor,
) -> list[int]:
    """Hand back the running tries a stopping worker holds: those of ``ti_ids``, and those the
    processes ``pids`` of ``hostname`` started. Each goes up for retry at once, with one more
    try granted (``transitions.hand_back``): :data:`HAND_BACK`, in a transaction of its own.
    The ids of the task instances handed back."""
    with store.read() as conn:
        running = transitions.tries_held(conn, ti_ids, hostname, list(pids))
    handed = []
    for ti_id, try_number in running:
        with store.write() as conn:
            back = follow(HAND_BACK, _HandingBack(conn, ti_id, try_number, reason, actor))
        if back.moved:
            handed.append(ti_id)
    return handed


@dataclass
class _HandingBack:
    """One try being handed back: what :data:`HAND_BACK` reads."""

    conn: Connection
    ti_id: int
    try_number: int
    reason: str
    actor: Actor
    run: LockedRun | None = None
    moved: bool = False


def _lock_run_of_try(h: _HandingBack) -> None:
    h.run = run_lock.lock_run(h.conn, workers.run_of_task_instance(h.conn, h.ti_id))


def _hand_back_try(h: _HandingBack) -> None:
    assert h.run is not None
    h.moved = bool(transitions.hand_back(h.conn, h.run, h.ti_id, h.try_number, h.reason, h.actor))


#: A try handed back by its stopping worker (:func:`hand_back`), in order. The run is not
#: advanced: the retry it grants is due at once, and the scheduler's loop schedules it.
HAND_BACK: tuple[Rule[_HandingBack], ...] = (
    Rule("lock the run", always, _lock_run_of_try),
    Rule("make the move", always, _hand_back_try),
)
