"""A slot a Celery worker frees goes to the try waiting for it at once, not at the
scheduler's next loop: the scheduler cannot see a try end on a worker, so it watches the
store while tries wait under ``parallelism``. And a run the scheduler makes has its first
try handed to a worker that can start it (the run's row committed before the message goes
out). PostgreSQL store, Redis DB 3, own queue."""

from __future__ import annotations

import itertools
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from celery_workers import WorkerSpec, celery_settings, require_redis, start_workers, worker_env
from conftest import runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance, task_try

BROKER = "redis://127.0.0.1:6379/3"
QUEUE = "freed_slots_q"
WORKER = "freed@test"
LOOP_SECONDS = 5.0  # far longer than a handover may take

DAG_FILE = """
    import time
    from datetime import datetime, timezone
    from conveyor import DAG, task

    with DAG("one_nap", default_args={"queue": "@QUEUE@"}):
        @task
        def nap():
            time.sleep(0.2)

        nap()

    # Due as soon as it is parsed (yesterday's interval): its run is made by the scheduler.
    with DAG(
        "due_now",
        schedule="@daily",
        start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        is_paused_upon_creation=False,
        default_args={"queue": "@QUEUE@"},
    ):
        @task
        def first():
            pass

        first()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Settings:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "one_nap.py").write_text(textwrap.dedent(DAG_FILE.replace("@QUEUE@", QUEUE)))
    return celery_settings(
        tmp_path,
        dags,
        pg_database_url,
        BROKER,
        parallelism=1,
        scheduler_loop_seconds=LOOP_SECONDS,
        requeue_after_seconds=120,  # a message a worker dropped would wait this long
    )


@pytest.fixture
def worker(tmp_path: Path, settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = worker_env(settings, BROKER)
    spec = WorkerSpec(WORKER, QUEUE, env, tmp_path / "worker.log", concurrency=2)
    with start_workers([spec], settings.db_url, at_once=True) as started:
        yield started


def _registered(settings: Settings, paused: str) -> Store:
    """The test's store with the folder parsed, and one of its DAGs paused: the other test's."""
    store = Store(settings.db_url)
    DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
    with store.write() as conn:
        conn.execute(update(dag).where(dag.c.dag_id == paused).values(is_paused=True))
    return store


def test_a_freed_slot_is_handed_on_before_the_next_loop(
    tmp_path: Path, settings: Settings, worker: list[subprocess.Popen[bytes]]
) -> None:
    store = _registered(settings, paused="due_now")
    try:
        with store.write() as conn:
            run_pks = [runs.create_manual_run(conn, "one_nap", created_by="test") for _ in range(3)]
        done = runs_finished(store, [pk for pk in run_pks if pk is not None])
        deadline = time.monotonic() + 60
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), None)
        scheduler.run(until=lambda: done() or time.monotonic() > deadline)
        assert done(), (tmp_path / "worker.log").read_text()[-2000:]
        with store.read() as conn:
            ran = conn.execute(
                select(task_try.c.start_date, task_try.c.end_date)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.dag_id == "one_nap")
                .order_by(task_try.c.start_date)
            ).all()
    finally:
        store.dispose()
    assert len(ran) == 3
    # One slot: each try starts after the one before it ended, the slot handed on within a
    # fraction of the loop (the next loop would have started it LOOP_SECONDS later).
    for before, after in itertools.pairwise(ran):
        handover = (after.start_date - before.end_date).total_seconds()
        assert 0 <= handover < 2.0, f"a freed slot waited {handover:.2f} s"


def test_the_first_try_of_a_run_the_scheduler_made_starts_at_once(
    tmp_path: Path, settings: Settings, worker: list[subprocess.Popen[bytes]]
) -> None:
    store = _registered(settings, paused="one_nap")
    try:

        def finished() -> bool:
            with store.read() as conn:
                states = conn.execute(
                    select(dag_run.c.state).where(dag_run.c.dag_id == "due_now")
                ).scalars()
                return "success" in set(states)

        deadline = time.monotonic() + 30
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), None)
        scheduler.run(until=lambda: finished() or time.monotonic() > deadline)
        assert finished(), (tmp_path / "worker.log").read_text()[-2000:]
        with store.read() as conn:
            created, started = conn.execute(
                select(dag_run.c.queued_at, task_try.c.start_date)
                .join(task_instance, task_instance.c.run_pk == dag_run.c.id)
                .join(task_try, task_try.c.ti_id == task_instance.c.id)
                .where(dag_run.c.dag_id == "due_now")
            ).one()
    finally:
        store.dispose()
    waited = (started - created).total_seconds()
    assert waited < LOOP_SECONDS, f"the first try started {waited:.1f} s after its run was made"
