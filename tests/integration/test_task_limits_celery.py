"""Per-task limits on Celery workers: ``max_active_tis_per_dagrun`` over a mapped task's
instances and ``max_active_tis_per_dag`` across runs hold when tries run, finish and queue the
next ones (the fast path, from two `conveyor worker` processes at once, each locking as the
store's pools lock) and when the scheduler's dispatch queues them. PostgreSQL store, Redis
DB 3, its own queue."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from celery_workers import WorkerSpec, celery_settings, require_redis, start_workers, worker_env
from conftest import runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance, task_try

BROKER = "redis://127.0.0.1:6379/3"
QUEUE = "limits_q"
WORKERS = ("limits1@test", "limits2@test")

DAG_FILE = """
    import pathlib
    import time
    from conveyor import DAG, task

    with DAG("limited", max_active_runs=3, max_active_tasks=16,
             default_args={"queue": "@QUEUE@"}):
        @task(max_active_tis_per_dagrun=2)
        def mapped(x, run_id=None):
            # Wait (a while at most) for a second try of this run to start, so that the
            # limit is met on a slow machine too: a slow start must not pass for the limit.
            started = pathlib.Path("@STARTED@")
            (started / f"{run_id}-{x}").touch()
            deadline = time.monotonic() + 10
            while len(list(started.glob(f"{run_id}-*"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)

        @task(max_active_tis_per_dag=2)
        def across():
            time.sleep(0.4)

        mapped.expand(x=list(range(6)))
        across()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Settings:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    started = tmp_path / "started"
    started.mkdir()
    source = DAG_FILE.replace("@QUEUE@", QUEUE).replace("@STARTED@", str(started))
    (dags / "limited.py").write_text(textwrap.dedent(source))
    return celery_settings(tmp_path, dags, pg_database_url, BROKER, parallelism=16)


@pytest.fixture
def workers(tmp_path: Path, settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = worker_env(settings, BROKER)
    specs = [
        WorkerSpec(name, QUEUE, env, tmp_path / f"{name}.log", concurrency=4) for name in WORKERS
    ]
    with start_workers(specs, settings.db_url, at_once=True) as started:
        yield started


def _peak(rows: list[Any]) -> int:
    points = sorted([(r.start_date, 1) for r in rows] + [(r.end_date, -1) for r in rows])
    best = now = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best


def test_task_limits_hold_on_celery_workers(
    tmp_path: Path, settings: Settings, workers: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            found = [runs.create_manual_run(conn, "limited", created_by="test") for _ in range(3)]
        run_pks = [pk for pk in found if pk is not None]
        done = runs_finished(store, run_pks)
        deadline = time.monotonic() + 90
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        Scheduler(settings, store, CeleryExecutor(settings), processor).run(
            until=lambda: done() or time.monotonic() > deadline
        )
        assert done(), "\n".join((tmp_path / f"{name}.log").read_text()[-2000:] for name in WORKERS)
        with store.read() as conn:
            assert all(runs.get_run(conn, pk).state is RunState.SUCCESS for pk in run_pks)
            ran = conn.execute(
                select(
                    task_instance.c.run_pk,
                    task_instance.c.task_id,
                    task_try.c.start_date,
                    task_try.c.end_date,
                    task_try.c.hostname,
                ).join(task_instance, task_instance.c.id == task_try.c.ti_id)
            ).all()
    finally:
        store.dispose()
    for run_pk in run_pks:
        mapped = [r for r in ran if r.run_pk == run_pk and r.task_id == "mapped"]
        assert len(mapped) == 6
        assert _peak(mapped) <= 2, "max_active_tis_per_dagrun=2 overrun on the workers"
    across = [r for r in ran if r.task_id == "across"]
    assert len(across) == 3
    assert _peak(across) <= 2, "max_active_tis_per_dag=2 overrun across runs on the workers"
    # Each mapped try said its run (the rendezvous above is per run), 18 in all.
    said = sorted(p.name for p in (tmp_path / "started").iterdir())
    assert len(said) == 18 and not any(name.startswith("None-") for name in said), said
    # The per-run limit was full at some point: the limit, not the machine, held the rest.
    peaks = [_peak([r for r in ran if r.run_pk == pk and r.task_id == "mapped"]) for pk in run_pks]
    assert max(peaks) == 2, peaks
