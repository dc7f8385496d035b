"""On a real Celery worker too, each line of a try's log carries the time it was written:
printed lines, records of the task's loggers, a line printed in two parts, a subprocess
writing straight to the try's descriptors and a BashOperator's output, each pair written
about a second apart. Redis DB 1, a queue of its own."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from celery_workers import celery_settings, require_redis, run_on_celery, start_worker, worker_env
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.web.airflow_api.log_lines import structured
from conveyor.worker.runner import log_path_for
from log_times import DAG_ID, PAIRS, assert_pairs_apart, dag_file
from store_reads import task_states

BROKER = "redis://127.0.0.1:6379/1"
QUEUE = "log_times_q"
WORKER_NAME = "log-times@test"


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "log_times.py").write_text(
        textwrap.dedent(dag_file(f'default_args={{"queue": "{QUEUE}"}}'))
    )
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def worker_process(tmp_path: Path, settings: Settings) -> Iterator[None]:
    env = worker_env(settings, BROKER, CONVEYOR_LOG_FOLDER=str(settings.logs_path))
    env.pop("CONVEYOR_AIRFLOW_COMPAT", None)  # the default: on
    with start_worker(
        QUEUE, WORKER_NAME, env, tmp_path / "worker.log", db_url=settings.db_url, at_once=True
    ):
        yield


def test_each_line_of_a_celery_try_is_stamped_when_written(
    tmp_path: Path, settings: Settings, worker_process: None
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=20, scan_every=60).sync()
        run_pk = run_on_celery(settings, store, DAG_ID, tmp_path / "worker.log")
        with store.read() as conn:
            states = task_states(conn, run_pk)
            run_id = runs.get_run(conn, run_pk).run_id
    finally:
        store.dispose()
    assert states == {"prints": "success", "bash": "success"}
    for task_id in PAIRS:
        text = log_path_for(settings, DAG_ID, run_id, task_id, 1).read_text()
        assert_pairs_apart(task_id, structured(text))
