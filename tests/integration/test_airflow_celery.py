"""An Airflow-style DAG on a real Celery worker, its code pulled from the store by hash.

The DAG file is parsed, then moved away, so the worker cannot import it from the DAG folder:
its try processes write the stored source under ``$CONVEYOR_HOME/code/<hash>/`` and import
it there, with the Airflow import hook installed. Redis DB 10, a queue of its own.
"""

from __future__ import annotations

import socket
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import (
    celery_settings,
    require_redis,
    run_on_celery,
    start_worker,
    worker_env,
)
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, xcom
from conveyor.worker.runner import log_path_for
from store_reads import task_states, try_hosts

BROKER = "redis://127.0.0.1:6379/10"
QUEUE = "airflow_q"
WORKER_NAME = "airflow@test"

DAG_FILE = """
    import logging
    from datetime import datetime

    from airflow.decorators import dag, task
    from airflow.operators.bash import BashOperator

    @dag(schedule_interval=None, start_date=datetime(2024, 1, 1), catchup=False,
         default_args={"queue": "@QUEUE@", "provide_context": True})
    def airflow_on_celery():
        @task(multiple_outputs=True)
        def measure():
            logging.info("measuring on a worker")
            return {"rows": 42, "table": "orders", "command": "echo 42 rows counted"}

        sizes = measure()
        report = BashOperator(
            task_id="report", bash_command=f"echo {sizes['table']} has {sizes['rows']}"
        )
        count = BashOperator(task_id="count", bash_command=sizes["command"])  # a dependency
        sizes >> report  # text pulls no dependency in: stated, as in Airflow
        count >> report

    airflow_on_celery()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (tmp_path / "empty").mkdir()
    (dags / "airflow_on_celery.py").write_text(textwrap.dedent(DAG_FILE.replace("@QUEUE@", QUEUE)))
    yield celery_settings(tmp_path, tmp_path / "empty", pg_database_url, BROKER)


@pytest.fixture
def worker_process(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = worker_env(
        settings,
        BROKER,
        CONVEYOR_HOME=str(tmp_path / "worker_home"),  # its own code cache
        CONVEYOR_LOG_FOLDER=str(settings.logs_path),
    )
    env.pop("CONVEYOR_AIRFLOW_COMPAT", None)  # the default: on
    log = tmp_path / "worker.log"
    with start_worker(
        QUEUE, WORKER_NAME, env, log, db_url=settings.db_url, at_once=True
    ) as process:
        yield process


def test_an_airflow_dag_runs_on_a_celery_worker_from_the_stored_code(
    tmp_path: Path, settings: Settings, worker_process: subprocess.Popen[bytes]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, tmp_path / "dags", timeout=20, scan_every=60).sync()
        (tmp_path / "dags").rename(tmp_path / "moved_away")  # only the store has the code now
        run_pk = run_on_celery(settings, store, "airflow_on_celery", tmp_path / "worker.log")
        with store.read() as conn:
            states = task_states(conn, run_pk)
            hosts = try_hosts(conn, run_pk)
            rows = conn.execute(
                select(xcom.c.value).where(
                    xcom.c.run_pk == run_pk, xcom.c.task_id == "measure", xcom.c.key == "rows"
                )
            ).scalar()
            run_id = conn.execute(select(dag_run.c.run_id).where(dag_run.c.id == run_pk)).scalar()
    finally:
        store.dispose()
    assert states == {"measure": "success", "report": "success", "count": "success"}
    assert hosts == {socket.gethostname()}
    assert rows == 42
    cached = list((tmp_path / "worker_home" / "code").glob("*/airflow_on_celery.py"))
    assert len(cached) == 1, "the worker imported the DAG from the store's copy"
    assert run_id is not None
    report = log_path_for(settings, "airflow_on_celery", run_id, "report", 1).read_text()
    assert "orders has 42" in report
    measure = log_path_for(settings, "airflow_on_celery", run_id, "measure", 1).read_text()
    assert "INFO - measuring on a worker" in measure
    count = log_path_for(settings, "airflow_on_celery", run_id, "count", 1).read_text()
    assert "42 rows counted" in count
