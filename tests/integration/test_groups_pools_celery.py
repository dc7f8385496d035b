"""Pools on Celery workers: the limit holds when tries run, finish and queue the next ones
(the fast path) in two `conveyor worker` processes. PostgreSQL store, Redis DB 3, own queue."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import WorkerSpec, celery_settings, require_redis, start_workers, worker_env
from conftest import runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.explain import explain
from conveyor.scheduler.loop import Scheduler
from conveyor.states import TaskState
from conveyor.store import pools, runs
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance, task_try

BROKER = "redis://127.0.0.1:6379/3"
QUEUE = "pools_q"
WORKERS = ("pools1@test", "pools2@test")

DAG_FILE = """
    import time
    from conveyor import DAG, task

    with DAG("pooled", max_active_tasks=16, default_args={"queue": "@QUEUE@"}):
        for i in range(6):
            @task(task_id=f"nap_{i}", pool="two")
            def nap():
                time.sleep(0.3)

            nap()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Settings:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pooled.py").write_text(textwrap.dedent(DAG_FILE.replace("@QUEUE@", QUEUE)))
    return celery_settings(tmp_path, dags, pg_database_url, BROKER, parallelism=16)


@pytest.fixture
def workers(tmp_path: Path, settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = worker_env(settings, BROKER)
    specs = [
        WorkerSpec(name, QUEUE, env, tmp_path / f"{name}.log", concurrency=3) for name in WORKERS
    ]
    with start_workers(specs, settings.db_url, at_once=True) as started:
        yield started


def test_a_pool_holds_on_celery_workers(
    tmp_path: Path, settings: Settings, workers: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(settings.db_url)
    try:
        with store.write() as conn:
            pools.set_pool(conn, "two", 2)
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pks = [runs.create_manual_run(conn, "pooled", created_by="test") for _ in range(3)]
        done = runs_finished(store, [pk for pk in run_pks if pk is not None])
        reasons: set[str] = set()

        def settled() -> bool:
            with store.read() as conn:  # what `conveyor tasks why` says of a waiting try
                waiting = conn.execute(
                    select(task_instance.c.run_pk, task_instance.c.task_id).where(
                        task_instance.c.state == TaskState.SCHEDULED.value
                    )
                ).first()
                if waiting is not None:
                    run = runs.get_run(conn, waiting.run_pk)
                    reasons.update(explain(conn, run, waiting.task_id).waiting_for)
            return done() or time.monotonic() > deadline

        deadline = time.monotonic() + 60
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        Scheduler(settings, store, CeleryExecutor(settings), processor).run(until=settled)
        assert done(), "\n".join((tmp_path / f"{name}.log").read_text()[-2000:] for name in WORKERS)
        with store.read() as conn:
            ran = conn.execute(
                select(task_try.c.start_date, task_try.c.end_date, task_try.c.hostname)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.pool == "two")
            ).all()
    finally:
        store.dispose()
    assert len(ran) == 18
    points = sorted([(r.start_date, 1) for r in ran] + [(r.end_date, -1) for r in ran])
    peak = now = 0
    for _, step in points:
        now += step
        peak = max(peak, now)
    assert peak == 2, f"{peak} tries of a two-slot pool ran at once on the workers"
    assert "waiting for a slot in pool 'two' (2 of 2 used)" in reasons
