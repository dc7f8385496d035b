"""/metrics after real runs: names, labels and values read back as Prometheus parses them."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from conftest import make_settings, run_until_finished
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.metrics import registry_for
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance
from conveyor.web.app import create_app

BROKER = "redis://127.0.0.1:6379/8"

DAG = """
from conveyor import DAG, BashOperator, task

with DAG("measured"):
    @task
    def first():
        return 1

    nap = BashOperator(task_id="nap", bash_command="sleep 0.3")

    @task
    def broken():
        raise ValueError("on purpose")

    first() >> nap >> broken()
"""


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition as {(name, labels): value}."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def _world(tmp_path: Path, store_url: str, source: str, **overrides: object) -> tuple:
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "dag.py").write_text(textwrap.dedent(source))
    settings = make_settings(tmp_path, dags, store_url, **overrides)
    store = Store(store_url)
    DagFileProcessor(store, dags, timeout=30, scan_every=0.1).sync()
    return settings, store


def test_metrics_after_a_run(tmp_path: Path, store_url: str) -> None:
    settings, store = _world(tmp_path, store_url, DAG)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "measured", created_by="test")
    assert run_pk is not None
    run_until_finished(settings, store, [run_pk], limit=90)

    with TestClient(create_app(settings, store)) as client:
        reply = client.get("/metrics")  # no login needed
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    found = samples(reply.text)

    assert value(found, "conveyor_store_up") == 1
    assert value(found, "conveyor_dag_runs", state="failed") == 1
    assert value(found, "conveyor_dag_runs", state="success") == 0
    assert value(found, "conveyor_task_instances", state="success") == 2
    assert value(found, "conveyor_task_instances", state="failed") == 1
    assert value(found, "conveyor_task_instances", state="queued") == 0
    assert value(found, "conveyor_task_tries", state="success") == 2
    assert value(found, "conveyor_task_tries", state="failed") == 1
    # Durations: three tries; the shell task alone slept 0.3 s.
    assert value(found, "conveyor_task_duration_seconds_gcount", dag_id="measured") == 3
    assert value(found, "conveyor_task_duration_seconds_gsum", dag_id="measured") >= 0.3
    assert value(found, "conveyor_task_duration_seconds_bucket", dag_id="measured", le="0.1") <= 2
    assert value(found, "conveyor_task_duration_seconds_bucket", dag_id="measured", le="+Inf") == 3
    # Scheduling delay: one observation per try, on its queue; a fast local executor.
    assert value(found, "conveyor_scheduling_delay_seconds_gcount", queue="default") == 3
    assert value(found, "conveyor_scheduling_delay_seconds_gsum", queue="default") < 30
    # The web process's own figures come along.
    assert value(found, "process_resident_memory_bytes") > 0
    store.dispose()


def test_queue_depth_counts_tries_no_worker_took(tmp_path: Path, store_url: str) -> None:
    queue = f"ops_metrics_{uuid.uuid4().hex[:8]}"
    source = f"""
        from conveyor import DAG, task

        with DAG("waiting"):
            @task(queue="{queue}")
            def a():
                return 1

            @task(queue="{queue}")
            def b():
                return 2

            a(); b()
        """
    settings, store = _world(tmp_path, store_url, source, executor="celery", broker_url=BROKER)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "waiting", created_by="test")
    assert run_pk is not None

    def queued() -> int:
        with store.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(task_instance.c.state == "queued")
                ).scalar_one()
            )

    # A real scheduler and Celery executor; no worker listens on this queue.
    scheduler = Scheduler(settings, store, CeleryExecutor(settings, store), None)
    try:
        scheduler.run(until=lambda: queued() == 2)
    finally:
        redis.Redis.from_url(BROKER).delete(queue)  # the messages nobody will take

    from prometheus_client import generate_latest

    found = samples(generate_latest(registry_for(store, settings)).decode())
    assert value(found, "conveyor_queue_depth", queue=queue) == 2
    assert value(found, "conveyor_task_instances", state="queued") == 2
    assert value(found, "conveyor_dag_runs", state="running") == 1
    store.dispose()


def test_unreachable_store_answers_store_up_zero(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", f"sqlite:///{tmp_path / 'no.db'}")
    store = Store(settings.db_url)  # never migrated: every query fails

    from prometheus_client import generate_latest

    found = samples(generate_latest(registry_for(store, settings)).decode())
    assert value(found, "conveyor_store_up") == 0
    assert not any(name == "conveyor_dag_runs" for name, _ in found)
    store.dispose()
