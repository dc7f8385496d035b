"""Cluster mode for real: `conveyor worker` processes on Redis and on RabbitMQ, PostgreSQL store.

Each broker gets two workers on different queues. The example DAGs run to success, a task
routed to a queue runs only on the worker that listens on it, a duplicated message starts a
try once, and a worker refuses a message that is not JSON.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from conftest import make_settings, runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.scheduler.progress import QueuedTry
from conveyor.states import RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_event, task_instance, task_try, xcom
from conveyor.store.transitions import Actor
from conveyor.worker.celery_app import RUN_TRY, make_app, send_try

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"
BROKERS = {
    "redis": "redis://127.0.0.1:6379/7",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}

ROUTED = """
    import os
    from conveyor import DAG, task

    with DAG("routed") as dag:
        @task(queue="etl")
        def on_etl():
            return os.environ["TEST_WORKER"]

        @task
        def on_default(first):
            return [first, os.environ["TEST_WORKER"]]

        on_default(on_etl())
"""


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    url = BROKERS[request.param]
    if not _reachable(url):
        message = f"{request.param} broker at {url} is unreachable"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    make_app(
        make_settings(Path("/tmp"), Path("/tmp"), "sqlite://", broker_url=url)
    ).control.purge()  # messages a previous test left behind
    return url


@pytest.fixture
def cluster(
    tmp_path: Path, pg_database_url: str, broker_url: str
) -> Iterator[tuple[Settings, dict[str, Path]]]:
    """Settings for a Celery cluster, and two running workers: w_default and w_etl."""
    dags = tmp_path / "dags"
    dags.mkdir()
    for example in EXAMPLES.glob("*.py"):
        (dags / example.name).write_text(example.read_text())
    (dags / "data").mkdir()
    (dags / "data" / "orders.csv").write_text((EXAMPLES / "data" / "orders.csv").read_text())
    (dags / "routed.py").write_text(textwrap.dedent(ROUTED))
    settings = make_settings(
        tmp_path, dags, pg_database_url, executor="celery", broker_url=broker_url
    )
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": pg_database_url,
        "CONVEYOR_BROKER_URL": broker_url,
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
        "CONVEYOR_EXAMPLE_OUTPUT": str(tmp_path / "out" / "orders.db"),
    }
    logs = {name: tmp_path / f"{name}.log" for name in ("w_default", "w_etl")}
    workers = []
    handles = [logs[name].open("w") for name in logs]
    for (name, queue), handle in zip(
        (("w_default", "default"), ("w_etl", "etl")), handles, strict=True
    ):
        workers.append(
            subprocess.Popen(
                [CONVEYOR, "worker", "-q", queue, "-c", "2", "-n", f"{name}@test"],
                env={**env, "TEST_WORKER": name},
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        _wait_for_workers(settings, {"w_default@test", "w_etl@test"})
        yield settings, logs
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for handle in handles:
            handle.close()


def _wait_for_workers(settings: Settings, names: set[str], limit: float = 40) -> None:
    from conveyor.store.tables import worker

    store = Store(settings.db_url)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            with store.read() as conn:
                seen = set(conn.execute(select(worker.c.hostname)).scalars())
            if names <= seen:
                return
            time.sleep(0.2)
        raise AssertionError(f"workers {names - seen} did not report within {limit}s")
    finally:
        store.dispose()


def _run(settings: Settings, store: Store, run_pks: list[int], limit: float = 60) -> None:
    processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.2)
    scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
    deadline = time.monotonic() + limit
    done = runs_finished(store, run_pks)
    scheduler.run(until=lambda: done() or time.monotonic() > deadline)
    assert done(), f"runs {run_pks} did not finish within {limit}s"


def test_examples_and_routing_on_real_workers(cluster: tuple[Settings, dict[str, Path]]) -> None:
    settings, _ = cluster
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pks = [
                runs.create_manual_run(conn, dag_id, created_by="test")
                for dag_id in ("hello_bash", "etl_orders", "branching", "routed")
            ]
        _run(settings, store, [pk for pk in run_pks if pk is not None])
        with store.read() as conn:
            states = conn.execute(
                select(dag_run.c.dag_id, dag_run.c.state).where(dag_run.c.id.in_(run_pks))
            ).all()
            routed = conn.execute(
                select(xcom.c.value).where(
                    xcom.c.run_pk == run_pks[3], xcom.c.task_id == "on_default"
                )
            ).scalar()
            worker_pids = conn.execute(select(func.count(func.distinct(task_try.c.pid)))).scalar()
        assert {dag_id: state for dag_id, state in states} == {
            "hello_bash": "success",
            "etl_orders": "success",
            "branching": "success",
            "routed": "success",
        }
        assert routed == ["w_etl", "w_default"]  # each task ran on the worker of its queue
        assert worker_pids and worker_pids >= 2
    finally:
        store.dispose()


def _queued_try(store: Store) -> QueuedTry:
    """A try of hello_bash's first task, moved to queued by hand, as the scheduler would."""
    actor = Actor("test")
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "hello_bash", created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        ti = conn.execute(
            select(task_instance).where(
                task_instance.c.run_pk == run_pk, task_instance.c.task_id == "hello"
            )
        ).one()
        transitions.schedule(conn, ti.id, TaskState.NONE, 0, "test", actor)
        transitions.queue(conn, ti.id, 1, "default", actor)
    return QueuedTry(
        ti_id=ti.id,
        try_number=1,
        queue="default",
        run_pk=run_pk,
        dag_id="hello_bash",
        run_id=ti.run_id,
        task_id="hello",
        timeout_seconds=None,
    )


def test_duplicate_message_starts_once_and_pickle_is_refused(
    cluster: tuple[Settings, dict[str, Path]],
) -> None:
    settings, logs = cluster
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        app = make_app(settings)

        refused = _queued_try(store)
        app.send_task(RUN_TRY, args=[refused.ti_id, 1], queue="default", serializer="pickle")
        duplicated = _queued_try(store)
        send_try(app, duplicated)
        send_try(app, duplicated)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with store.read() as conn:
                state = conn.execute(
                    select(task_instance.c.state).where(task_instance.c.id == duplicated.ti_id)
                ).scalar()
            if state == TaskState.SUCCESS.value:
                break
            time.sleep(0.2)
        time.sleep(1.5)  # let the second copy arrive and lose
        with store.read() as conn:
            tries = conn.execute(
                select(func.count()).where(task_try.c.ti_id == duplicated.ti_id)
            ).scalar()
            started = conn.execute(
                select(func.count()).where(
                    task_event.c.ti_id == duplicated.ti_id, task_event.c.kind == "started"
                )
            ).scalar()
            refused_state = conn.execute(
                select(task_instance.c.state).where(task_instance.c.id == refused.ti_id)
            ).scalar()
        assert state == TaskState.SUCCESS.value
        assert (tries, started) == (1, 1)  # the duplicate lost at queued -> running
        assert refused_state == TaskState.QUEUED.value  # the pickle message ran nothing
        assert "pickle" in logs["w_default"].read_text()  # and the worker said why
    finally:
        store.dispose()
