"""A backfill's record and its pace, as the scheduler keeps it: its runs are made at once,
queued, and start at most its ``max_active_runs`` at a time (beside the DAG's own
``max_active_runs``, as in Airflow 3); pausing holds its queued runs, unpausing lets them
start, cancelling fails those not started and completes it, and nothing else is touched.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import make_settings
from conveyor import backfill
from conveyor.backfill import Backfill, BackfillRunningError
from conveyor.engine import manual
from conveyor.executors.local import LocalExecutor
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.explain import explain
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState, TaskState
from conveyor.store import backfills, dag_actions, runs, trigger
from conveyor.store.backfills import BackfillCompletedError
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run

DAGS = """
import time
from datetime import datetime
from conveyor import DAG, task

for name in ("daily", "other"):
    with DAG(name, schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False,
             max_active_runs=1):
        @task
        def work():
            time.sleep(0.3)
        work()
"""
ACTOR = Actor("user:tester")


def _day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


@pytest.fixture
def scheduler(tmp_path: Path, store: Store) -> Scheduler:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dags.py").write_text(textwrap.dedent(DAGS))
    DagFileProcessor(store, folder, timeout=30, scan_every=1).sync()
    with store.write() as conn:
        dag_actions.set_paused(conn, "daily", False)
        dag_actions.set_paused(conn, "other", False)
    settings = make_settings(tmp_path, folder, store.url)
    return Scheduler(settings, store, LocalExecutor(settings), None)


def _runs(store: Store, dag_id: str = "daily") -> dict[str, str]:
    """run id -> state of the DAG's runs."""
    with store.read() as conn:
        rows = conn.execute(
            select(dag_run.c.run_id, dag_run.c.state).where(dag_run.c.dag_id == dag_id)
        )
        return {r.run_id: r.state for r in rows}


def _states(store: Store, backfill_id: int) -> dict[str, int]:
    with store.read() as conn:
        return backfills.run_counts(conn, [backfill_id])[backfill_id]


def _start(scheduler: Scheduler) -> None:
    """One round of the scheduler's starting of queued runs (no try is run)."""
    scheduler.start_queued_runs()


def _finish_one_running(store: Store, backfill_id: int) -> None:
    with store.write() as conn:
        _, run_id = backfills.runs_in_state(conn, backfill_id, RunState.RUNNING)[0]
        manual.mark_run(conn, "daily", run_id, TaskState.SUCCESS, ACTOR)


def test_runs_run_to_the_end_never_more_than_max_active_runs_at_once(
    store: Store, scheduler: Scheduler
) -> None:
    job = Backfill(store, "daily", _day(1), _day(6), max_active=2, triggering_user="ann")
    backfill_id = job.create()
    assert _states(store, backfill_id) == {"queued": 6}  # made at once, as Airflow makes them
    peak = 0
    deadline = time.monotonic() + 120

    def ended() -> bool:
        nonlocal peak
        assert time.monotonic() < deadline, f"backfill not done: {_states(store, backfill_id)}"
        peak = max(peak, _states(store, backfill_id).get("running", 0))
        with store.read() as conn:
            found = backfills.get(conn, backfill_id)
        return found is not None and found.completed_at is not None

    scheduler.run(until=ended)
    assert _states(store, backfill_id) == {"success": 6}
    # Two at a time although the DAG's own max_active_runs is 1: the backfill paces its runs.
    assert peak == 2
    with store.read() as conn:
        spans = [
            (r.start_date, r.end_date)
            for r in conn.execute(
                select(dag_run.c.start_date, dag_run.c.end_date).where(
                    dag_run.c.backfill_id == backfill_id
                )
            )
        ]
        row = backfills.get(conn, backfill_id)
    for start, _ in spans:  # from the runs' own times: never three running at once
        assert sum(1 for s, e in spans if s <= start < e) <= 2
    assert row is not None and row.triggering_user_name == "ann" and not row.is_paused
    assert (row.from_date, row.to_date, row.max_active_runs) == (_day(1), _day(6), 2)


def test_pause_holds_unpause_resumes_and_cancel_stops_only_its_own_runs(
    store: Store, scheduler: Scheduler
) -> None:
    backfill_id = Backfill(store, "daily", _day(1), _day(5), max_active=2).create()
    with store.write() as conn:  # runs of no backfill: the DAG's own, and another DAG's
        trigger.trigger_run(conn, "daily", run_id="by_hand", conf={}, created_by="ann")
        trigger.trigger_run(conn, "other", run_id="elsewhere", conf={}, created_by="ann")
    _start(scheduler)
    assert _states(store, backfill_id) == {"running": 2, "queued": 3}
    assert _runs(store)["by_hand"] == "running"  # the DAG's max_active_runs is its own

    with store.write() as conn:
        assert backfill.pause(conn, backfill_id).is_paused
    _finish_one_running(store, backfill_id)
    with store.read() as conn:  # the task page says why a queued run waits
        _, waiting = backfills.runs_in_state(conn, backfill_id, RunState.QUEUED)[0]
        why = explain(conn, runs.find_run(conn, "daily", waiting), "work").waiting_for
    assert any(f"backfill {backfill_id}, which is paused" in w for w in why), why
    _start(scheduler)
    _start(scheduler)
    assert _states(store, backfill_id) == {"success": 1, "running": 1, "queued": 3}

    with store.write() as conn:
        assert not backfill.unpause(conn, backfill_id).is_paused
    _start(scheduler)
    assert _states(store, backfill_id) == {"success": 1, "running": 2, "queued": 2}

    others = (_runs(store)["by_hand"], _runs(store, "other"))
    with store.write() as conn:
        done = backfill.cancel(conn, backfill_id, ACTOR)
    assert done.completed_at is not None and done.is_paused
    # The runs not started failed; those running go on; nothing else moved.
    assert _states(store, backfill_id) == {"success": 1, "running": 2, "failed": 2}
    assert (_runs(store)["by_hand"], _runs(store, "other")) == others
    _start(scheduler)
    assert _states(store, backfill_id) == {"success": 1, "running": 2, "failed": 2}
    for action in (backfill.pause, backfill.unpause):
        with pytest.raises(BackfillCompletedError), store.write() as conn:
            action(conn, backfill_id)


def test_one_backfill_of_a_dag_at_a_time_and_the_same_one_resumes(
    store: Store, scheduler: Scheduler
) -> None:
    first = Backfill(store, "daily", _day(1), _day(3), max_active=1).create()
    with store.write() as conn:  # its runs wait: the scheduler's completion leaves it going
        assert not backfills.complete(conn, first, _day(9), if_ended=True)
        assert backfills.ended_backfills(conn) == []
    with pytest.raises(BackfillRunningError, match="already a running backfill"):
        Backfill(store, "daily", _day(1), _day(4)).create()
    with store.write() as conn:
        backfill.pause(conn, first)
    again = Backfill(store, "daily", _day(1), _day(3), max_active=3)
    assert again.create() == first  # the same range asked again: it goes on, unpaused
    assert all(item.action == "keep" for item in again.items)
    with store.read() as conn:
        row = backfills.get(conn, first)
    assert row is not None and not row.is_paused and row.max_active_runs == 3
    _start(scheduler)
    assert _states(store, first) == {"running": 3}
