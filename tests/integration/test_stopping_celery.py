"""Stopping running work on a real Celery worker (PostgreSQL, Redis DB 0, queue ``stopping``).

The worker's main process reads the stops asked of its pool's tries from the store every
``stop_check_seconds``: a try marked failed while its shell and the shell's child run has
its pool process's group sent SIGTERM (the operator's ``on_kill`` runs there), the processes
are gone within the grace, and the try stays failed as the person chose, without a retry.
A try past its ``execution_timeout`` (timed in the pool process) has its ``on_kill`` called.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from celery_workers import celery_settings, require_redis, start_worker, worker_env
from conveyor.config import Settings
from conveyor.engine import manual
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store

BROKER = "redis://127.0.0.1:6379/0"
ANN = Actor("user:ann")
QUEUE = "stopping"

DAG_FILE = """
    import os
    from datetime import timedelta
    from pathlib import Path

    from conveyor import DAG, BashOperator

    class Recorded(BashOperator):
        def on_kill(self):
            Path("@TMP@/on_kill_" + self.task_id).write_text(str(os.getpid()))
            super().on_kill()

    with DAG("stoppable", schedule=None):
        Recorded(
            task_id="sleepy",
            queue="stopping",
            retries=2,
            retry_delay=timedelta(seconds=0),
            bash_command=(
                "echo $$ > @TMP@/shell.pid; sleep 300 & echo $! > @TMP@/child.pid; wait"
            ),
        )

    with DAG("restartable", schedule=None):
        Recorded(
            task_id="again",
            queue="stopping",
            bash_command=(
                "if [ ! -e @TMP@/once ]; then touch @TMP@/once; sleep 300 & wait; fi; echo done"
            ),
        )

    with DAG("too_slow", schedule=None):
        Recorded(
            task_id="slow",
            queue="stopping",
            execution_timeout=timedelta(seconds=1),
            bash_command="sleep 300 & wait",
        )
"""


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    text = textwrap.dedent(DAG_FILE).replace("@TMP@", str(tmp_path))
    (dags / "stoppable.py").write_text(text)
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER, kill_grace_seconds=2)


def _run(settings: Settings, store: Store, dag_id: str, until: object, limit: float) -> int:
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
    scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
    deadline = time.monotonic() + limit
    scheduler.run(until=lambda: until(run_pk) or time.monotonic() > deadline)  # type: ignore[operator]
    return run_pk


def test_a_worker_stops_a_try_marked_failed_or_cleared_and_a_timeout_calls_on_kill(
    tmp_path: Path, settings: Settings
) -> None:
    store = Store(settings.db_url)
    log = tmp_path / "worker.log"
    env = worker_env(settings, BROKER, CONVEYOR_KILL_GRACE_SECONDS="2")
    with start_worker(QUEUE, "w_stop@test", env, log, db_url=settings.db_url, concurrency=1):
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        seen: dict[str, float] = {}
        processes: list[int] = []

        def step(run_pk: int) -> bool:
            with store.read() as conn:
                run = runs.get_run(conn, run_pk)
                (ti,) = runs.task_instances(conn, run_pk)
            if not seen:
                if ti.state is not TaskState.RUNNING or not (tmp_path / "child.pid").exists():
                    return False
                processes.extend(
                    int((tmp_path / n).read_text()) for n in ("shell.pid", "child.pid")
                )
                seen["acted"] = time.monotonic()
                with store.write() as conn:
                    manual.mark(conn, "stoppable", run.run_id, "sleepy", TaskState.FAILED, ANN)
            if "gone" not in seen and not any(alive(p) for p in processes):
                seen["gone"] = time.monotonic()
            return "gone" in seen and run.state is RunState.FAILED

        run_pk = _run(settings, store, "stoppable", step, limit=60)
        assert "gone" in seen, f"the shell and its child still ran; log:\n{log.read_text()[-3000:]}"
        assert seen["gone"] - seen["acted"] < 1 + 2 + 2, "not stopped within check + grace"
        assert (tmp_path / "on_kill_sleepy").exists(), "on_kill was not called in the pool"
        with store.read() as conn:
            (ti,) = runs.task_instances(conn, run_pk)
            assert (ti.state, ti.try_number) == (TaskState.FAILED, 1)
        time.sleep(1)  # the worker's own report of the killed try, if any, comes now
        with store.read() as conn:
            (ti,) = runs.task_instances(conn, run_pk)
        assert (ti.state, ti.try_number) == (TaskState.FAILED, 1), "the worker overwrote it"

        def ended(run_pk: int) -> bool:
            with store.read() as conn:
                return runs.get_run(conn, run_pk).state is RunState.FAILED

        def cleared_once(run_pk: int) -> bool:
            with store.read() as conn:
                run = runs.get_run(conn, run_pk)
                (ti,) = runs.task_instances(conn, run_pk)
            started = ti.state is TaskState.RUNNING and (tmp_path / "once").exists()
            if started and "cleared" not in seen:
                seen["cleared"] = time.monotonic()
                with store.write() as conn:
                    manual.clear(conn, "restartable", run.run_id, "again", ANN)
            return run.state is RunState.SUCCESS

        again = _run(settings, store, "restartable", cleared_once, limit=60)
        with store.read() as conn:
            (ti,) = runs.task_instances(conn, again)
        assert "cleared" in seen
        assert (ti.state, ti.try_number) == (TaskState.SUCCESS, 2), log.read_text()[-3000:]
        assert (tmp_path / "on_kill_again").exists()

        slow = _run(settings, store, "too_slow", ended, limit=60)
        assert ended(slow), log.read_text()[-3000:]
        assert (tmp_path / "on_kill_slow").exists(), "on_kill was not called on the timeout"
        with store.read() as conn:
            (ti,) = runs.task_instances(conn, slow)
        assert ti.state is TaskState.FAILED
    store.dispose()
