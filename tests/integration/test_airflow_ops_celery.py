"""Setup/teardown, a short circuit and a virtualenv task on a real Celery worker (Redis DB 11,
own queue): the teardown runs on the worker after the work failed, the run fails because of
the work, and the virtualenv is made under the worker's $CONVEYOR_HOME."""

from __future__ import annotations

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
from store_reads import task_states, try_hosts

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
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def worker_process(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = worker_env(
        settings, BROKER, CONVEYOR_HOME=str(tmp_path / "worker_home"), TEST_WORKER="ops-worker"
    )
    log = tmp_path / "worker.log"
    with start_worker(
        QUEUE, WORKER_NAME, env, log, db_url=settings.db_url, at_once=True
    ) as process:
        yield process


def test_setup_teardown_short_circuit_and_venv_on_a_celery_worker(
    tmp_path: Path, settings: Settings, worker_process: subprocess.Popen[bytes]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        run_pk = run_on_celery(settings, store, "ops_celery", tmp_path / "worker.log", limit=90)
        with store.read() as conn:
            run_state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar()
            states = task_states(conn, run_pk)
            hosts = try_hosts(conn, run_pk)
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
