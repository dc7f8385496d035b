"""Setup/teardown, a short circuit and a virtualenv task on a real Celery worker (Redis DB 11,
own queue): the teardown runs on the worker after the work failed, the run fails because of
the work, and the virtualenv is made under the worker's $CONVEYOR_HOME."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import require_redis, start_worker
from conftest import make_settings, runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance, task_try, xcom
from conveyor.worker.celery_app import make_app

BROKER = "redis://127.0.0.1:6379/11"
QUEUE = "airflow_ops_q"
WORKER_NAME = "airflow-ops@test"

DAG_FILE = """
    import os
    from pathlib import Path
    from conveyor import DAG, EmptyOperator, ShortCircuitOperator, setup, task, teardown

    OUT = Path("@TMP@")

    with DAG("ops_celery", default_args={"queue": "@QUEUE@"}):
        @setup
        def create():
            (OUT / "resource").write_text(os.environ.get("TEST_WORKER", "not a worker"))
            return str(OUT / "resource")

        @task
        def work(path):
            raise RuntimeError("the work broke")

        @teardown
        def delete(path):
            Path(path).unlink()
            return os.environ.get("TEST_WORKER", "not a worker")

        made = create()
        work(made) >> delete(made)

        @task.virtualenv(system_site_packages=False)
        def in_venv():
            import sys
            return sys.prefix

        stop = ShortCircuitOperator(task_id="stop", python_callable=lambda: False)
        in_venv() >> stop >> EmptyOperator(task_id="never")
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    body = DAG_FILE.replace("@TMP@", str(tmp_path)).replace("@QUEUE@", QUEUE)
    (dags / "ops_celery.py").write_text(textwrap.dedent(body))
    found = make_settings(tmp_path, dags, pg_database_url, executor="celery", broker_url=BROKER)
    make_app(found).control.purge()
    yield found


@pytest.fixture
def worker_process(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "worker_home"),
        "CONVEYOR_DAGS_FOLDER": str(settings.dags_path),
        "CONVEYOR_DATABASE_URL": settings.db_url,
        "CONVEYOR_BROKER_URL": BROKER,
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
        "CONVEYOR_KILL_GRACE_SECONDS": "1",
        "TEST_WORKER": "ops-worker",
    }
    log = tmp_path / "worker.log"
    with start_worker(QUEUE, WORKER_NAME, env, log, db_url=settings.db_url) as process:
        yield process


def test_setup_teardown_short_circuit_and_venv_on_a_celery_worker(
    tmp_path: Path, settings: Settings, worker_process: subprocess.Popen[bytes]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "ops_celery", created_by="test")
        assert run_pk is not None
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
        done = runs_finished(store, [run_pk])
        deadline = time.monotonic() + 90
        scheduler.run(until=lambda: done() or time.monotonic() > deadline)
        assert done(), (tmp_path / "worker.log").read_text()[-3000:]
        with store.read() as conn:
            run_state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar()
            states = dict(
                conn.execute(
                    select(task_instance.c.task_id, task_instance.c.state).where(
                        task_instance.c.run_pk == run_pk
                    )
                ).all()
            )
            hosts = set(
                conn.execute(
                    select(task_try.c.hostname)
                    .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                    .where(task_instance.c.run_pk == run_pk)
                ).scalars()
            )
            values = dict(
                conn.execute(
                    select(xcom.c.task_id, xcom.c.value).where(xcom.c.run_pk == run_pk)
                ).all()
            )
    finally:
        store.dispose()
    assert states == {
        "create": "success",
        "work": "failed",
        "delete": "success",
        "in_venv": "success",
        "stop": "success",
        "never": "skipped",
    }
    assert run_state == "failed"  # the failed work decides; the teardown's success does not
    assert not (tmp_path / "resource").exists()  # the teardown cleaned up after the failure
    assert values["delete"] == "ops-worker"
    assert values["in_venv"].startswith(str(tmp_path / "worker_home" / "venvs"))
    assert len(hosts) == 1 and None not in hosts
