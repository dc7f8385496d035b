"""A scheduler loop that is slow for a while (a loaded machine, a long statement, a lock
waited on) keeps its tries' heartbeats going: the local executor writes them from a thread
of its own, so its fence stops tries only when the store cannot be written, never because
the loop was busy elsewhere. A loop stuck for ``zombie_after_seconds`` no longer supervises
its tries: their heartbeats stop, and the fence stops them. On PostgreSQL only: on SQLite
there is no fence (the one scheduler never declares its own tries lost) and the loop writes
the heartbeats itself."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_settings, runs_finished
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance
from run_env import Env

pytestmark = pytest.mark.postgres

DAG = """
from datetime import datetime
from conveyor import DAG, BashOperator

with DAG("steady", schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="work", bash_command="sleep 4")
"""

#: The loop's one slow step: longer than the fence (half of zombie_after_seconds).
STALL_SECONDS = 3.0


class _StallsOnce(Scheduler):
    """A scheduler whose first step taken once its try runs lasts ``stall`` seconds (as a
    step on a loaded machine or behind a lock does); it notes the try's heartbeat around it."""

    def __init__(self, *args: Any, stall: float = STALL_SECONDS) -> None:
        super().__init__(*args)
        self.stall = stall
        self.beats: list[datetime | None] = []

    def step(self, now: datetime | None = None) -> None:
        super().step(now)
        if self.beats or self.executor.idle():
            return
        started = self._heartbeat_at()
        if started is None:  # not running yet
            return
        self.beats.append(started)
        time.sleep(self.stall)
        self.beats.append(self._heartbeat_at())

    def _heartbeat_at(self) -> datetime | None:
        with self.store.read() as conn:
            found: datetime | None = conn.execute(
                select(task_instance.c.heartbeat_at).where(task_instance.c.task_id == "work")
            ).scalar_one()
        return found


def _steady_run(tmp_path: Path, store: Store, url: str, **overrides: Any) -> tuple[Any, int]:
    """The DAG ``steady`` parsed and triggered; settings with ``overrides``; the run."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "steady.py").write_text(DAG)
    settings = make_settings(tmp_path, dags, url, **overrides)
    DagFileProcessor(store, dags, timeout=10, scan_every=1).sync()
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "steady", created_by="test")
    assert run_pk is not None
    return settings, run_pk


def _run(scheduler: Scheduler, store: Store, run_pk: int) -> None:
    done = runs_finished(store, [run_pk])
    deadline = time.monotonic() + 40
    scheduler.run(until=lambda: done() or time.monotonic() > deadline)
    assert done()


def test_a_slow_loop_neither_stalls_the_heartbeats_nor_fences_its_tries(
    tmp_path: Path, pg_database_url: str
) -> None:
    store = Store(pg_database_url)
    try:
        # The fence at 2 s: the stall outlasts it by a second.
        settings, run_pk = _steady_run(
            tmp_path, store, pg_database_url, heartbeat_seconds=0.2, zombie_after_seconds=4
        )
        scheduler = _StallsOnce(settings, store, LocalExecutor(settings), None)
        _run(scheduler, store, run_pk)

        before, after = scheduler.beats
        assert before is not None and after is not None
        assert (after - before).total_seconds() >= STALL_SECONDS - 1  # beaten meanwhile
        with store.read() as conn:
            assert runs.get_run(conn, run_pk).state is RunState.SUCCESS
            (work,) = runs.task_instances(conn, run_pk)
        assert work.state is TaskState.SUCCESS
        assert work.try_number == 1  # not stopped and tried again
    finally:
        store.dispose()


def test_a_loop_stuck_past_zombie_after_stops_beating_and_its_try_is_fenced(
    tmp_path: Path, pg_database_url: str
) -> None:
    store = Store(pg_database_url)
    try:
        # Beats stop 2 s into the stall, the fence fires 1 s later: both within the try's 4 s.
        settings, run_pk = _steady_run(
            tmp_path, store, pg_database_url, heartbeat_seconds=0.2, zombie_after_seconds=2
        )
        scheduler = _StallsOnce(settings, store, LocalExecutor(settings), None, stall=4.0)
        _run(scheduler, store, run_pk)

        with store.read() as conn:
            assert runs.get_run(conn, run_pk).state is RunState.FAILED
        (attempt,) = Env(tmp_path, tmp_path / "dags", store).tries(run_pk, "work")
        assert "stopped by its executor" in attempt.error
    finally:
        store.dispose()
