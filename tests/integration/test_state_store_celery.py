"""Airflow 3.3's state stores on a real `conveyor worker` process (Celery over Redis DB 1).

A task on the worker keeps progress in ``task_state_store`` and a watermark in
``asset_state_store``, fails its first try, and its retry (another try on the worker)
resumes from both; the asset's update starts a consumer DAG, whose task on the worker reads
the watermark the producer left.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import celery_settings, require_redis, start_worker, worker_env
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance
from store_reads import xcom_value

BROKER = "redis://127.0.0.1:6379/1"
QUEUE = "state_store"

DAG_FILE = """
    import os
    from datetime import datetime

    from airflow.sdk import DAG, Asset, task

    ORDERS = Asset(name="orders", uri="s3://celery/orders")

    with DAG("celery_state_producer", schedule=None, start_date=datetime(2026, 1, 1)):

        @task(queue="state_store", retries=1, retry_delay=0, outlets=[ORDERS])
        def load(task_state_store=None, asset_state_store=None, ti=None):
            pages = task_state_store.get("pages", default=[])
            if ti.try_number == 1:
                task_state_store.set("pages", [1, 2])
                asset_state_store[ORDERS].set("watermark", "2026-01-02")
                raise RuntimeError("the worker loses its connection after two pages")
            return {
                "resumed_with": pages,
                "watermark": asset_state_store.get("watermark"),
                "worker": os.environ["TEST_WORKER"],
            }

        load()

    with DAG("celery_state_consumer", schedule=[ORDERS], start_date=datetime(2026, 1, 1)):

        @task(queue="state_store", inlets=[ORDERS])
        def read(asset_state_store=None):
            return asset_state_store[ORDERS].get("watermark"), os.environ["TEST_WORKER"]

        read()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "celery_state.py").write_text(textwrap.dedent(DAG_FILE))
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def worker_log(tmp_path: Path, settings: Settings) -> Iterator[Path]:
    env = worker_env(settings, BROKER, TEST_WORKER="w_state")
    log = tmp_path / "worker.log"
    with start_worker(QUEUE, "w_state@test", env, log, db_url=settings.db_url, at_once=True):
        yield log


def _both_finished(store: Store) -> bool:
    with store.read() as conn:
        found = conn.execute(select(dag_run.c.dag_id, dag_run.c.state)).all()
    finished = {r.dag_id for r in found if RunState(r.state) in RUN_FINISHED}
    return finished >= {"celery_state_producer", "celery_state_consumer"}


def test_a_retry_on_a_worker_resumes_from_the_state_its_failed_try_stored(
    settings: Settings, worker_log: Path
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "celery_state_producer", created_by="test")
        assert run_pk is not None
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
        deadline = time.monotonic() + 90
        scheduler.run(until=lambda: _both_finished(store) or time.monotonic() > deadline)
        assert _both_finished(store), worker_log.read_text()[-3000:]
        with store.read() as conn:
            tries = conn.execute(
                select(task_instance.c.state, task_instance.c.try_number).where(
                    task_instance.c.run_pk == run_pk, task_instance.c.task_id == "load"
                )
            ).one()
            loaded = xcom_value(conn, run_pk, "load", "return_value")
            consumer = conn.execute(
                select(dag_run).where(dag_run.c.dag_id == "celery_state_consumer")
            ).one()
            read = xcom_value(conn, consumer.id, "read", "return_value")
    finally:
        store.dispose()
    assert tuple(tries) == ("success", 2), worker_log.read_text()[-3000:]
    assert loaded == {"resumed_with": [1, 2], "watermark": "2026-01-02", "worker": "w_state"}
    assert consumer.run_type == "dataset_triggered" and consumer.state == "success"
    assert read == ("2026-01-02", "w_state")  # the task returned a tuple
