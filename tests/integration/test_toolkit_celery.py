"""The toolkit on Celery workers: a reschedule-mode sensor gives its slot back between
pokes, and task and DAG callbacks run in the worker's processes. Redis DB 5, own queue."""

from __future__ import annotations

import subprocess
import textwrap
import time
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
from conveyor.executors.celery_app import RUN_TRY, make_app
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store
from conveyor.store.reads import tasks as task_reads
from conveyor.store.tables import callback_request, task_instance, task_try
from store_reads import task_states

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
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER, parallelism=1)


@pytest.fixture
def worker_process(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = worker_env(settings, BROKER, TEST_WORKER="toolkit-worker")
    log = tmp_path / "worker.log"
    with start_worker(
        QUEUE, "toolkit@test", env, log, db_url=settings.db_url, at_once=True
    ) as process:
        yield process


def test_reschedule_and_callbacks_on_a_celery_worker(
    tmp_path: Path, settings: Settings, worker_process: subprocess.Popen[bytes]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        run_pk = run_on_celery(
            settings,
            store,
            "toolkit_celery",
            tmp_path / "worker.log",
            until=(tmp_path / "dag_success").exists,
        )
        with store.read() as conn:
            states = task_states(conn, run_pk)
            tries = conn.execute(
                select(
                    task_try.c.state,
                    task_try.c.hostname,
                    task_try.c.resumptions,
                    task_try.c.log_path,
                )
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == "wait")
                .order_by(task_try.c.try_number)
            ).all()
            requests = conn.execute(select(callback_request.c.kind, callback_request.c.state)).all()
            wait = task_reads.instance(conn, run_pk, "wait")
            assert wait is not None
            shown = [t.try_number for t in task_reads.tries(conn, [wait.id])]
        # The first poke's message delivered again: the worker's start loses at the fence.
        make_app(settings).send_task(RUN_TRY, args=[wait.id, 1], queue=QUEUE)
        lost = f"lost race on task instance {wait.id}: expected ['queued'] try 1 -> running"
        log = tmp_path / "worker.log"
        deadline = time.monotonic() + 30
        while lost not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        with store.read() as conn:
            again = task_reads.instance(conn, run_pk, "wait")
            rows = conn.execute(select(task_try.c.id).where(task_try.c.ti_id == wait.id)).all()
    finally:
        store.dispose()
    assert states == {"wait": "success", "make_flag": "success"}
    # parallelism 1: make_flag could only run because the sensor gave its slot back.
    assert [t.state for t in tries][-1] == "success"
    assert "up_for_reschedule" in [t.state for t in tries]
    # Every poke was a dispatch of try 1 (as Airflow numbers it), writing to its one log.
    assert (wait.try_number, shown) == (1, [1])
    assert [t.resumptions for t in tries] == list(range(len(tries)))
    assert len({t.log_path for t in tries}) == 1 and tries[0].log_path.endswith("try-1.log")
    first_lines = Path(tries[0].log_path).read_text().count("[conveyor] toolkit_celery.wait run")
    assert first_lines == len(tries)
    # The stale message started nothing and recorded nothing.
    assert again is not None and (again.state, again.try_number) == ("success", 1)
    assert len(rows) == len(tries)
    assert (tmp_path / "task_success").read_text() == "toolkit-worker"
    assert (tmp_path / "dag_success").read_text() == "toolkit-worker"
    assert [tuple(r) for r in requests] == [("success", "done")]
