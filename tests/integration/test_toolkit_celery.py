"""The toolkit on Celery workers: a reschedule-mode sensor gives its slot back between
pokes, and task and DAG callbacks run in the worker's processes. Redis DB 5, own queue."""

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
from conveyor.store.tables import callback_request, task_instance, task_try
from conveyor.worker.celery_app import make_app

BROKER = "redis://127.0.0.1:6379/5"
QUEUE = "toolkit_q"

DAG_FILE = """
    import os
    import time
    from pathlib import Path
    from conveyor import DAG, task
    from conveyor.sensors import FileSensor

    OUT = Path("@TMP@")

    def note(name):
        def callback(context):
            (OUT / name).write_text(os.environ.get("TEST_WORKER", "not a worker"))
        return callback

    with DAG(
        "toolkit_celery",
        default_args={"queue": "@QUEUE@"},
        on_success_callback=note("dag_success"),
    ):
        wait = FileSensor(
            task_id="wait", filepath=str(OUT / "flag"), mode="reschedule",
            poke_interval=0.3, timeout=60, priority_weight=10,
        )

        @task(on_success_callback=note("task_success"))
        def make_flag():
            time.sleep(1)
            (OUT / "flag").write_text("go")

        make_flag()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    body = DAG_FILE.replace("@TMP@", str(tmp_path)).replace("@QUEUE@", QUEUE)
    (dags / "toolkit_celery.py").write_text(textwrap.dedent(body))
    found = make_settings(
        tmp_path, dags, pg_database_url, executor="celery", broker_url=BROKER, parallelism=1
    )
    make_app(found).control.purge()
    yield found


@pytest.fixture
def worker_process(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(settings.home),
        "CONVEYOR_DAGS_FOLDER": str(settings.dags_path),
        "CONVEYOR_DATABASE_URL": settings.db_url,
        "CONVEYOR_BROKER_URL": BROKER,
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
        "CONVEYOR_KILL_GRACE_SECONDS": "1",
        "TEST_WORKER": "toolkit-worker",
    }
    log = tmp_path / "worker.log"
    with start_worker(QUEUE, "toolkit@test", env, log, db_url=settings.db_url) as process:
        yield process


def test_reschedule_and_callbacks_on_a_celery_worker(
    tmp_path: Path, settings: Settings, worker_process: subprocess.Popen[bytes]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "toolkit_celery", created_by="test")
        assert run_pk is not None
        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
        done = runs_finished(store, [run_pk])
        deadline = time.monotonic() + 60

        def settled() -> bool:
            return (done() and (tmp_path / "dag_success").exists()) or time.monotonic() > deadline

        scheduler.run(until=settled)
        assert done(), (tmp_path / "worker.log").read_text()[-3000:]
        with store.read() as conn:
            states = dict(
                conn.execute(
                    select(task_instance.c.task_id, task_instance.c.state).where(
                        task_instance.c.run_pk == run_pk
                    )
                ).all()
            )
            tries = conn.execute(
                select(task_try.c.state, task_try.c.hostname)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == "wait")
                .order_by(task_try.c.try_number)
            ).all()
            requests = conn.execute(select(callback_request.c.kind, callback_request.c.state)).all()
    finally:
        store.dispose()
    assert states == {"wait": "success", "make_flag": "success"}
    # parallelism 1: make_flag could only run because the sensor gave its slot back.
    assert [t.state for t in tries][-1] == "success"
    assert "up_for_reschedule" in [t.state for t in tries]
    assert (tmp_path / "task_success").read_text() == "toolkit-worker"
    assert (tmp_path / "dag_success").read_text() == "toolkit-worker"
    assert [tuple(r) for r in requests] == [("success", "done")]
