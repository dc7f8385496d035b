"""Celery executors made and stopped one after another in one process keep publishing.

Producer pools are shared by every app on one broker in a process, and each executor keeps
a producer for its life; one that did not give it back on stop left the eleventh executor
waiting for ever for a producer (a benchmark running twelve runs in one process hung).
"""

from __future__ import annotations

import threading
from pathlib import Path

import redis

from conftest import make_settings
from conveyor.engine.progress import QueuedTry
from conveyor.executors.celery_executor import CeleryExecutor

BROKER = "redis://127.0.0.1:6379/15"
QUEUE = "lifecycle-check"


def _try(number: int) -> QueuedTry:
    return QueuedTry(
        ti_id=number,
        try_number=1,
        queue=QUEUE,
        run_pk=1,
        dag_id="d",
        run_id="r",
        task_id="t",
        timeout_seconds=None,
    )


def test_the_twelfth_executor_in_a_process_still_publishes(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, tmp_path, f"sqlite:///{tmp_path / 'store.db'}", broker_url=BROKER
    )
    broker = redis.Redis.from_url(BROKER)
    broker.delete(QUEUE)
    published: list[int] = []

    def make_publish_and_stop_each() -> None:
        for number in range(12):
            executor = CeleryExecutor(settings)
            executor.submit([_try(number)])
            executor.stop(grace=1)
            published.append(number)

    worker = threading.Thread(target=make_publish_and_stop_each, daemon=True)
    worker.start()
    worker.join(timeout=60)
    try:
        assert len(published) == 12, f"executor {len(published) + 1} waited for a producer"
        assert broker.llen(QUEUE) == 12
    finally:
        broker.delete(QUEUE)
