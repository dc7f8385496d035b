"""Mapped tasks and datasets on real `conveyor worker` processes (Celery over Redis DB 2).

Two workers listen on their own queues. A task mapped over an upstream list runs one try per
instance on the workers, one instance fails once and retries alone, a downstream task on the
other queue collects the results in order, and the DAG's dataset update starts its consumer.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import WorkerSpec, celery_settings, require_redis, start_workers, worker_env
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.mapping import xcom_value
from conveyor.store.tables import dag_run, task_instance, task_try

BROKER = "redis://127.0.0.1:6379/2"
QUEUES = ("mapping_a", "mapping_b")

DAG_FILE = """
    import os
    from conveyor import DAG, task
    from conveyor.datasets import Dataset

    PARTS = Dataset("file:///celery/parts")

    with DAG("celery_mapped"):
        @task(queue="mapping_a")
        def parts():
            return [1, 2, 3, 4]

        @task(queue="mapping_a", retries=1, retry_delay=0)
        def weigh(part, ti=None):
            if part == 3 and ti.try_number == 1:
                raise RuntimeError("scale not ready")
            return {"part": part, "weight": part * 10, "worker": os.environ["TEST_WORKER"]}

        @task(queue="mapping_b", outlets=[PARTS])
        def total(weights):
            return {"order": [w["part"] for w in weights], "sum": sum(w["weight"] for w in weights)}

        total(weigh.expand(part=parts()))

    with DAG("celery_consumer", schedule=[PARTS]):
        @task(queue="mapping_b")
        def notify(params=None):
            return os.environ["TEST_WORKER"]

        notify()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "celery_mapped.py").write_text(textwrap.dedent(DAG_FILE))
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def workers(tmp_path: Path, settings: Settings) -> Iterator[dict[str, Path]]:
    """One `conveyor worker` per queue; yields their log files by worker name."""
    env = worker_env(settings, BROKER)
    logs = {f"w_{queue}": tmp_path / f"w_{queue}.log" for queue in QUEUES}
    specs = [
        WorkerSpec(f"{name}@test", queue, {**env, "TEST_WORKER": name}, logs[name])
        for queue, name in zip(QUEUES, logs, strict=True)
    ]
    with start_workers(specs, settings.db_url, at_once=True):
        yield logs


def _both_finished(store: Store) -> bool:
    with store.read() as conn:
        found = conn.execute(select(dag_run.c.dag_id, dag_run.c.state)).all()
    finished = {r.dag_id for r in found if RunState(r.state) in RUN_FINISHED}
    return finished >= {"celery_mapped", "celery_consumer"}


def test_a_mapped_task_and_a_dataset_update_on_celery_workers(
    settings: Settings, workers: dict[str, Path]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "celery_mapped", created_by="test")
        assert run_pk is not None
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
        deadline = time.monotonic() + 60
        scheduler.run(until=lambda: _both_finished(store) or time.monotonic() > deadline)
        logs = {name: path.read_text()[-2000:] for name, path in workers.items()}
        assert _both_finished(store), logs
        with store.read() as conn:
            instances = conn.execute(
                select(task_instance.c.map_index, task_instance.c.state, task_instance.c.try_number)
                .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == "weigh")
                .order_by(task_instance.c.map_index)
            ).all()
            hosts = set(
                conn.execute(
                    select(task_try.c.hostname)
                    .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                    .where(task_instance.c.task_id == "weigh")
                ).scalars()
            )
            weights = xcom_value(conn, run_pk, "weigh", "return_value")
            total = xcom_value(conn, run_pk, "total", "return_value")
            consumer = conn.execute(
                select(dag_run).where(dag_run.c.dag_id == "celery_consumer")
            ).one()
            notified = xcom_value(conn, consumer.id, "notify", "return_value")
            state = runs.get_run(conn, run_pk).state
    finally:
        store.dispose()
    assert state is RunState.SUCCESS
    assert [tuple(i) for i in instances] == [
        (0, "success", 1),
        (1, "success", 1),
        (2, "success", 2),  # part 3 failed once and retried alone
        (3, "success", 1),
    ]
    assert len(hosts) == 1 and None not in hosts  # every try recorded the worker's host
    assert {w["worker"] for w in weights} == {"w_mapping_a"}
    assert total == {"order": [1, 2, 3, 4], "sum": 100}
    assert consumer.run_type == "dataset_triggered" and consumer.state == "success"
    assert notified == "w_mapping_b"
