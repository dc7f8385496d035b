"""A run's moves: it starts, ends and times out.

Every move of a run the engine makes is declared in ``lifecycle.py`` (``RUN_START``,
``RUN_SUCCEED``, ``RUN_FAIL``, ``RUN_TIME_OUT``) and made
here, under the run's lock wherever more than the run's row is written: the lock is taken
first, as every writer of a run's moves takes it (``store/hop/run_lock.py``). Who asks:

- the scheduler loop starts a queued run once ``max_active_runs`` leaves room
  (:func:`start_run`), and fails a run past its ``dagrun_timeout`` (:func:`time_out_run`),
  stopping its running tries;
- a run's plan ends it (:func:`end_run`, from ``engine.progress``).

A stopping worker's tries are handed back by ``engine.hand_back``.

The process whose move ends a run asks for the DAG's callback, in the same transaction, so
it is asked for exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from conveyor import callbacks
from conveyor.clock import utcnow
from conveyor.lifecycle import Actor
from conveyor.serialized import SerializedDag
from conveyor.states import FINISHED, RunState, TaskState
from conveyor.store import plan_requests, runs, transitions
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
