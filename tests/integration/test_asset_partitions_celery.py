"""Asset partitions on a real `conveyor worker` process (Celery over Redis DB 1): the
scheduler makes a ``CronPartitionTimetable`` run whose task, on the worker, reads its key and
updates a partitioned asset; the event's key, mapped by the consumer's ``StartOfMonthMapper``,
makes the consumer's run, whose task on the worker sees that month as its partition."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import celery_settings, require_redis, start_worker, worker_env
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from store_reads import xcom_value

BROKER = "redis://127.0.0.1:6379/1"
QUEUE = "partitions"

DAG_FILE = """
    import os
    from datetime import datetime

    from airflow.sdk import (
        DAG, Asset, CronPartitionTimetable, PartitionedAssetTimetable, StartOfMonthMapper, task,
    )

    DAILY = Asset(name="daily_orders", uri="s3://celery/daily_orders")

    with DAG(
        "celery_daily_load",
        schedule=CronPartitionTimetable("0 0 * * *", timezone="UTC", run_offset=-1),
        start_date=datetime(2026, 1, 1),
        catchup=False,
    ):

        @task(queue="partitions", outlets=[DAILY])
        def load(dag_run=None):
            return dag_run.partition_key, os.environ["TEST_WORKER"]

        load()

    with DAG(
        "celery_monthly_report",
        schedule=PartitionedAssetTimetable(
            assets=DAILY, partition_mapper_config={DAILY: StartOfMonthMapper()}
        ),
        start_date=datetime(2026, 1, 1),
    ):

        @task(queue="partitions")
        def report(dag_run=None):
            return dag_run.partition_key, os.environ["TEST_WORKER"]

        report()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "celery_partitions.py").write_text(textwrap.dedent(DAG_FILE))
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def worker_log(tmp_path: Path, settings: Settings) -> Iterator[Path]:
    env = worker_env(settings, BROKER, TEST_WORKER="w_partitions")
    log = tmp_path / "worker.log"
    with start_worker(QUEUE, "w_partitions@test", env, log, db_url=settings.db_url, at_once=True):
        yield log


def _report_finished(store: Store) -> bool:
    with store.read() as conn:
        found = conn.execute(
            select(dag_run.c.state).where(dag_run.c.dag_id == "celery_monthly_report")
        ).scalars()
        return any(RunState(state) in RUN_FINISHED for state in found)


def test_a_partition_key_travels_from_a_scheduled_run_to_its_consumer_on_a_worker(
    settings: Settings, worker_log: Path
) -> None:
    store = Store(settings.db_url)
    try:
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
        deadline = time.monotonic() + 90
        scheduler.run(until=lambda: _report_finished(store) or time.monotonic() > deadline)
        assert _report_finished(store), worker_log.read_text()[-3000:]
        with store.read() as conn:
            load_run, report_run = (
                conn.execute(
                    select(dag_run).where(dag_run.c.dag_id == dag_id).order_by(dag_run.c.id)
                ).first()
                for dag_id in ("celery_daily_load", "celery_monthly_report")
            )
            assert load_run is not None and report_run is not None
            loaded = xcom_value(conn, load_run.id, "load", "return_value")
            reported = xcom_value(conn, report_run.id, "report", "return_value")
    finally:
        store.dispose()
    # run_offset=-1: the run at midnight is for the day before.
    fire = load_run.logical_date.astimezone(UTC)
    key = load_run.partition_key
    assert key == (fire - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert (load_run.run_type, load_run.state) == ("scheduled", "success")
    assert loaded == (key, "w_partitions"), worker_log.read_text()[-3000:]
    assert report_run.partition_key == key[:7] and report_run.state == "success"
    assert reported == (key[:7], "w_partitions")
