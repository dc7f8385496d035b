"""Cluster mode for real: `conveyor worker` processes on Redis and on RabbitMQ, PostgreSQL store.

Each broker gets two workers on different queues. The example DAGs run to success, a task
routed to a queue runs only on the worker that listens on it, a duplicated message starts a
try once, and a worker refuses a message that is not JSON.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from celery_workers import (
    pool_processes,
    reachable,
    remote_ports,
    spawn_worker,
    stop_workers,
    wait_for_worker,
    wait_for_workers,
)
from conftest import describe_runs, make_settings, runs_finished
from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry
from conveyor.executors.celery_app import RUN_TRY, make_app, send_try
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.explain import explain
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState, TaskState
from conveyor.store import pools, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_event, task_instance, task_try, xcom

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


FAULTS = """
    import os
    import time
    from datetime import timedelta
    from conveyor import DAG, task

    with DAG("faults") as dag:
        @task(retries=1, retry_delay=0)
        def survives_a_lost_worker(ti=None):
            if ti.try_number == 1:
                time.sleep(120)  # the worker running this is killed meanwhile
            return os.environ["TEST_WORKER"]

        survives_a_lost_worker()

    with DAG("lonely") as lonely:
        @task(queue="nobody")
        def waits_for_a_worker():
            return os.environ["TEST_WORKER"]

        waits_for_a_worker()

    with DAG("shutdown") as shutdown:
        @task(retries=0)  # a shutdown must not use up retries it does not have
        def cut_off(ti=None):
            if ti.try_number == 1:
                time.sleep(120)  # longer than the worker's grace period
            return os.environ["TEST_WORKER"]

        @task
        def quick_enough():
            time.sleep(0.5)  # finishes within the grace period
            return os.environ["TEST_WORKER"]

        cut_off()
        quick_enough()

    with DAG("wide", max_active_tasks=50) as wide:
        @task
        def nap(i):
            time.sleep(0.5)
            return i

        for i in range(6):
            nap.override(task_id=f"nap_{i}")(i)

    with DAG("too_slow") as too_slow:
        @task(execution_timeout=timedelta(seconds=1))
        def sleeps():
            print("starting a long sleep")
            time.sleep(30)

        sleeps()
"""


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    url = BROKERS[request.param]
    if not reachable(url):
        message = f"{request.param} broker at {url} is unreachable"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    make_app(
        make_settings(Path("/tmp"), Path("/tmp"), "sqlite://", broker_url=url)
    ).control.purge()  # messages a previous test left behind
    return url


@dataclass
class Cluster:
    settings: Settings
    logs: dict[str, Path]
    workers: dict[str, subprocess.Popen[bytes]]
    start_worker: Callable[..., subprocess.Popen[bytes]]
    env: dict[str, str]


@pytest.fixture
def cluster(tmp_path: Path, pg_database_url: str, broker_url: str) -> Iterator[Cluster]:
    """Settings for a Celery cluster, and two running workers: w_default and w_etl."""
    dags = tmp_path / "dags"
    dags.mkdir()
    for example in EXAMPLES.glob("*.py"):
        (dags / example.name).write_text(example.read_text())
    (dags / "data").mkdir()
    (dags / "data" / "orders.csv").write_text((EXAMPLES / "data" / "orders.csv").read_text())
    (dags / "routed.py").write_text(textwrap.dedent(ROUTED))
    (dags / "faults.py").write_text(textwrap.dedent(FAULTS))
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
        "CONVEYOR_KILL_GRACE_SECONDS": "1",
        "CONVEYOR_EXAMPLE_OUTPUT": str(tmp_path / "out" / "orders.db"),
    }
    logs: dict[str, Path] = {}
    workers: dict[str, subprocess.Popen[bytes]] = {}
    handles = []

    def start_worker(
        name: str, queue: str, *, wait: bool = True, **extra_env: str
    ) -> subprocess.Popen[bytes]:
        logs[name] = tmp_path / f"{name}.log"
        handle = logs[name].open("w")
        handles.append(handle)
        # Its own process group: a test can kill it whole.
        workers[name] = spawn_worker(
            queue, f"{name}@test", {**env, "TEST_WORKER": name, **extra_env}, handle
        )
        if wait:
            wait_for_worker(settings.db_url, f"{name}@test")
        return workers[name]

    try:
        # Both start at once: each start is seconds of imports and a broker connection.
        start_worker("w_default", "default", wait=False)
        start_worker("w_etl", "etl", wait=False)
        wait_for_workers(settings.db_url, ["w_default@test", "w_etl@test"])
        yield Cluster(settings, logs, workers, start_worker, env)
    finally:
        stop_workers(workers.values(), at_once=True)  # the test read all it checks
        for handle in handles:
            handle.close()


def _run(settings: Settings, store: Store, run_pks: list[int], limit: float = 60) -> None:
    processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.2)
    scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
    deadline = time.monotonic() + limit
    done = runs_finished(store, run_pks)
    scheduler.run(until=lambda: done() or time.monotonic() > deadline)
    assert done(), f"runs {run_pks} did not finish within {limit}s"


def _sync_and_run(settings: Settings, store: Store, dag_id: str) -> int:
    """Register the DAG folder, make one manual run of ``dag_id`` and run it to its end."""
    DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    _run(settings, store, [run_pk])
    return run_pk


def test_examples_and_routing_on_real_workers(cluster: Cluster) -> None:
    settings = cluster.settings
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        # Change the file after it was parsed: the runs pinned the parsed version, so the
        # workers must take that one from the store by its hash, not this file from disk.
        routed_file = settings.dags_path / "routed.py"
        routed_file.write_text(routed_file.read_text().replace('"TEST_WORKER"', '"NOPE"'))
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
        cached = list((settings.home / "code").glob("*/routed.py"))
        assert cached and '"TEST_WORKER"' in cached[0].read_text()  # the pinned source
        assert worker_pids and worker_pids >= 2
    finally:
        store.dispose()


TOOLKIT_EXAMPLES = (
    "toolkit_connections",
    "toolkit_sensors",
    "toolkit_trigger",
    "toolkit_alerts",
    "mapping",
    "datasets_export",
    "groups_and_pools",
)


def test_toolkit_examples_on_real_workers(cluster: Cluster) -> None:
    """Sensors, connections, a triggered DAG, mapping, datasets, groups and pools, on Celery."""
    settings = cluster.settings
    store = Store(settings.db_url)
    when = datetime(2026, 3, 2, tzinfo=UTC)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            pools.set_pool(conn, "warehouse", 2)  # as groups_and_pools' docstring says
            made = {
                dag_id: runs.create_manual_run(conn, dag_id, logical_date=when, created_by="test")
                for dag_id in TOOLKIT_EXAMPLES
            }
        _run(settings, store, [pk for pk in made.values() if pk is not None], limit=120)

        def followers_done() -> bool:  # started by the examples: a trigger, dataset updates
            with store.read() as conn:
                found = dict(
                    conn.execute(
                        select(dag_run.c.dag_id, dag_run.c.state).where(
                            dag_run.c.dag_id.in_(["toolkit_triggered", "datasets_report"])
                        )
                    ).all()
                )
            return len(found) == 2 and all(
                state in ("success", "failed") for state in found.values()
            )

        _run_until(settings, store, followers_done, 60)
        with store.read() as conn:
            states = dict(
                conn.execute(
                    select(dag_run.c.dag_id, dag_run.c.state).where(
                        dag_run.c.dag_id.in_(
                            [*TOOLKIT_EXAMPLES, "toolkit_triggered", "datasets_report"]
                        ),
                        dag_run.c.run_type != "scheduled",
                    )
                ).all()
            )
            hosts = set(
                conn.execute(
                    select(task_try.c.hostname)
                    .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                    .where(task_instance.c.dag_id == "mapping")
                ).scalars()
            )
    finally:
        store.dispose()
    assert states == {dag_id: "success" for dag_id in states}, describe_runs(store)
    assert set(states) >= {*TOOLKIT_EXAMPLES, "toolkit_triggered", "datasets_report"}
    assert hosts  # the mapped instances ran on the workers


def _run_until(settings: Settings, store: Store, done: Callable[[], bool], limit: float) -> None:
    processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.2)
    scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
    deadline = time.monotonic() + limit
    scheduler.run(until=lambda: done() or time.monotonic() > deadline)
    assert done(), f"not done within {limit}s:\n{describe_runs(store)}"


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


def test_duplicate_message_starts_once_and_pickle_is_refused(cluster: Cluster) -> None:
    settings, logs = cluster.settings, cluster.logs
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


def _state_of(store: Store, dag_id: str, task_id: str) -> str:
    with store.read() as conn:
        state = conn.execute(
            select(task_instance.c.state).where(
                task_instance.c.dag_id == dag_id, task_instance.c.task_id == task_id
            )
        ).scalar()
    return state or "absent"


def _wait(condition: Callable[[], bool], limit: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {limit}s")


def _wait_state(store: Store, dag_id: str, task_id: str, state: str, limit: float) -> float:
    try:
        return _wait(
            lambda: _state_of(store, dag_id, task_id) == state,
            limit,
            f"{dag_id}.{task_id} reaching {state}",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the store holds:\n{describe_runs(store)}") from None


def _scheduler(cluster: Cluster, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **cluster.env,
        "CONVEYOR_EXECUTOR": "celery",
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
        "CONVEYOR_ZOMBIE_AFTER_SECONDS": "4",
        "CONVEYOR_REQUEUE_AFTER_SECONDS": "3",
    }
    with (tmp_path / "s.log").open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [CONVEYOR, "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def test_faults_killed_worker_lost_message_and_timeout(cluster: Cluster, tmp_path: Path) -> None:
    store = Store(cluster.settings.db_url)
    scheduler = _scheduler(cluster, tmp_path)
    try:
        DagFileProcessor(store, cluster.settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            for dag_id in ("faults", "lonely"):
                runs.create_manual_run(conn, dag_id, created_by="test")

        # A worker dies (SIGKILL to it and its pool) in the middle of a try: the try is
        # found lost and retried on another worker.
        _wait_state(store, "faults", "survives_a_lost_worker", "running", 30)
        os.killpg(cluster.workers["w_default"].pid, signal.SIGKILL)
        cluster.workers["w_default"].wait()
        cluster.start_worker("w_default2", "default")
        _wait_state(store, "faults", "survives_a_lost_worker", "success", 60)
        with store.write() as conn:  # now that no worker will be killed under it
            runs.create_manual_run(conn, "too_slow", created_by="test")

        # The broker loses a message (its queue purged before any worker took it): the
        # scheduler sends it again, and the timeline says so.
        _wait_state(store, "lonely", "waits_for_a_worker", "queued", 30)
        with store.read() as conn:  # what `tasks why` and the UI say while nobody takes it
            lonely = runs.get_run(
                conn,
                conn.execute(select(dag_run.c.id).where(dag_run.c.dag_id == "lonely")).scalar_one(),
            )
            waiting = explain(conn, lonely, "waits_for_a_worker").waiting_for
        assert any(
            "no live worker listens on queue 'nobody'" in reason
            and "conveyor worker -q nobody" in reason
            for reason in waiting
        ), waiting
        app = make_app(cluster.settings)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_declare("nobody", durable=True, auto_delete=False)
            conn.default_channel.queue_purge("nobody")
        cluster.start_worker("w_nobody", "nobody")
        waited = _wait_state(store, "lonely", "waits_for_a_worker", "success", 60)

        _wait_state(store, "too_slow", "sleeps", "failed", 60)
        with store.read() as conn:
            tries = {
                (r.task_id, r.try_number): r
                for r in conn.execute(
                    select(
                        task_instance.c.task_id,
                        task_try.c.try_number,
                        task_try.c.exit_kind,
                        task_try.c.error,
                        task_try.c.state,
                    ).join(task_instance, task_instance.c.id == task_try.c.ti_id)
                )
            }
            kinds = set(
                conn.execute(
                    select(task_event.c.kind)
                    .join(task_instance, task_instance.c.id == task_event.c.ti_id)
                    .where(task_instance.c.task_id == "waits_for_a_worker")
                ).scalars()
            )
            values = dict(conn.execute(select(xcom.c.task_id, xcom.c.value)).all())
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
        store.dispose()

    lost = tries[("survives_a_lost_worker", 1)]
    assert lost.exit_kind == "heartbeat" and "lost" in lost.error
    assert tries[("survives_a_lost_worker", 2)].state == "success"
    assert values["survives_a_lost_worker"] == "w_default2"
    assert "requeued" in kinds and values["waits_for_a_worker"] == "w_nobody"
    assert waited < 30
    slow = tries[("sleeps", 1)]
    assert slow.exit_kind == "timeout" and "execution_timeout of 1s exceeded" in slow.error


def test_sigterm_lets_short_tries_finish_and_hands_the_rest_back(
    cluster: Cluster, tmp_path: Path
) -> None:
    store = Store(cluster.settings.db_url)
    scheduler = _scheduler(cluster, tmp_path)
    try:
        DagFileProcessor(store, cluster.settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            runs.create_manual_run(conn, "shutdown", created_by="test")
        _wait_state(store, "shutdown", "cut_off", "running", 30)
        _wait_state(store, "shutdown", "quick_enough", "running", 30)
        worker = cluster.workers["w_default"]
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        stopped_after = time.monotonic() - stopping
        cluster.start_worker("w_default2", "default")
        _wait_state(store, "shutdown", "cut_off", "success", 60)
        with store.read() as conn:
            values = dict(conn.execute(select(xcom.c.task_id, xcom.c.value)).all())
            first = conn.execute(
                select(task_try.c.exit_kind, task_try.c.state, task_try.c.error)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.task_id == "cut_off", task_try.c.try_number == 1)
            ).one()
            quick_tries = conn.execute(
                select(func.count())
                .select_from(task_try)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.task_id == "quick_enough")
            ).scalar()
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
        store.dispose()
    assert stopped_after < 15  # grace (1 s in these tests) plus Celery's own stop
    assert values["quick_enough"] == "w_default" and quick_tries == 1  # finished, not rerun
    assert values["cut_off"] == "w_default2"  # handed back and retried on another worker
    assert (first.exit_kind, first.state) == ("signal", "up_for_retry")
    assert "handed back" in first.error


def test_flower_starts_on_the_same_broker(cluster: Cluster, tmp_path: Path) -> None:
    import json
    import urllib.request

    port = 5600 + os.getpid() % 300
    with (tmp_path / "flower.log").open("w") as log:
        flower = subprocess.Popen(
            [CONVEYOR, "flower", f"--port={port}", "--address=127.0.0.1"],
            env={**cluster.env, "FLOWER_UNAUTHENTICATED_API": "true"},  # Flower's API login
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def workers_listed() -> bool:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout=5
                ) as response:
                    names = set(json.load(response))
            except OSError:
                return False
            return {"w_default@test", "w_etl@test"} <= names

        _wait(workers_listed, 40, "Flower listing both workers")
    finally:
        flower.send_signal(signal.SIGTERM)
        flower.wait(timeout=30)


def test_parallelism_caps_tries_in_flight_across_the_cluster(cluster: Cluster) -> None:
    # Four worker slots on the queue, and every process configured with parallelism 2.
    cluster.workers["w_default"].send_signal(signal.SIGTERM)
    cluster.workers["w_default"].wait(timeout=30)
    for name in ("w_cap1", "w_cap2"):
        cluster.start_worker(name, "default", wait=False, CONVEYOR_PARALLELISM="2")
    wait_for_workers(cluster.settings.db_url, ["w_cap1@test", "w_cap2@test"])
    settings = cluster.settings.model_copy(update={"parallelism": 2})
    store = Store(settings.db_url)
    try:
        run_pk = _sync_and_run(settings, store, "wide")
        with store.read() as conn:
            spans = conn.execute(
                select(task_try.c.start_date, task_try.c.end_date)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.run_pk == run_pk)
            ).all()
    finally:
        store.dispose()
    assert len(spans) == 6
    most = max(sum(1 for o in spans if o.start_date <= s.start_date < o.end_date) for s in spans)
    assert most <= 2  # four worker slots were free, but parallelism said two


STREAKS = """
    import os
    from datetime import timedelta
    from conveyor import DAG, task

    for queue in ("keep", "plain"):
        with DAG(f"streak_{queue}", default_args={"queue": queue}) as dag:
            @task
            def step(_previous=None):
                return os.getpid()

            @task(execution_timeout=timedelta(seconds=60))
            def limited(_previous=None):
                return os.getpid()

            last = step.override(task_id="s0")()
            for number in range(1, 5):
                # s2's callback runs after the commit that would start s3 on the same process
                callback = (lambda context: None) if number == 2 else None
                last = step.override(task_id=f"s{number}", on_success_callback=callback)(last)
            limited(last)
        globals()[f"streak_{queue}"] = dag
"""


def test_a_pool_process_runs_the_next_try_of_its_chain_without_the_broker(
    cluster: Cluster,
) -> None:
    # w_keep keeps going; w_plain never does. Each has a queue of its own: the example DAGs'
    # scheduled runs go to w_default. w_keep's streak is 30 s, not the default 1 s: what is
    # checked here is which tries a pool process may take itself, and on a loaded machine
    # 1 s from a message's start can pass before the chain's next step is ready.
    cluster.start_worker("w_keep", "keep", wait=False, CONVEYOR_WORKER_STREAK_SECONDS="30")
    cluster.start_worker("w_plain", "plain", wait=False, CONVEYOR_WORKER_STREAK_SECONDS="0")
    wait_for_workers(cluster.settings.db_url, ["w_keep@test", "w_plain@test"])
    (cluster.settings.dags_path / "streaks.py").write_text(textwrap.dedent(STREAKS))
    settings = cluster.settings
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pks = [
                runs.create_manual_run(conn, f"streak_{queue}", created_by="test")
                for queue in ("keep", "plain")
            ]
        _run(settings, store, [pk for pk in run_pks if pk is not None])
        with store.read() as conn:
            pids = {
                (row.run_pk, row.task_id): row.value
                for row in conn.execute(select(xcom.c.run_pk, xcom.c.task_id, xcom.c.value))
            }
            queued_entries = conn.execute(
                select(task_instance.c.run_pk, task_instance.c.task_id, task_event.c.detail)
                .join(task_event, task_event.c.ti_id == task_instance.c.id)
                .where(task_event.c.kind == "queued")
            ).all()
    finally:
        store.dispose()
    # The timeline tells the tries a pool process took itself from the ones sent to a queue.
    taken = {
        (pk, task_id)
        for pk, task_id, detail in queued_entries
        if pk in run_pks and detail.get("kept")
    }
    assert taken == {(run_pks[0], task_id) for task_id in ("s1", "s2", "s4")}, taken
    kept = [pids[(run_pks[0], f"s{number}")] for number in range(3)]
    assert len(set(kept)) == 1, kept  # one pool process ran the chain's steps back to back
    stats = make_app(settings).control.inspect(timeout=5).stats() or {}
    received = {name: info["total"].get(RUN_TRY, 0) for name, info in stats.items()}
    # Through the broker: the first step (from the scheduler), the step after the one with a
    # callback, and the task with a time limit, which only a message of its own carries;
    # w_plain took all six.
    assert received["w_keep@test"] == 3, received
    assert received["w_plain@test"] == 6, received


FROZEN = """
    import gc
    from conveyor import DAG, task

    with DAG("frozen_on_celery") as dag:
        @task
        def frozen():
            return gc.get_freeze_count()

        frozen()
"""


def test_a_pool_process_keeps_what_it_inherited_out_of_the_collectors_reach(
    cluster: Cluster,
) -> None:
    # Frozen as the pool process starts: a full collection never walks the parent's imports.
    (cluster.settings.dags_path / "frozen.py").write_text(textwrap.dedent(FROZEN))
    settings = cluster.settings
    store = Store(settings.db_url)
    try:
        run_pk = _sync_and_run(settings, store, "frozen_on_celery")
        with store.read() as conn:
            frozen = conn.execute(
                select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == "frozen")
            ).scalar_one()
    finally:
        store.dispose()
    assert isinstance(frozen, int) and frozen > 10_000, frozen


def test_a_new_pool_process_connects_to_the_store_and_broker_before_its_first_try(
    cluster: Cluster,
) -> None:
    # No message is sent to the queue "warm": whatever the pool processes hold open, they
    # opened while waiting for their first try, which would otherwise pay for it.
    worker = cluster.start_worker("w_warm", "warm")
    store_port = urlparse(cluster.settings.db_url).port or 5432
    broker_port = urlparse(cluster.settings.broker_url).port
    # The worker registers before its pool has forked.
    _wait(lambda: len(pool_processes(worker.pid)) == 2, 10, "the pool's two processes forking")
    pool = pool_processes(worker.pid)

    def connected() -> bool:
        return all({store_port, broker_port} <= remote_ports(pid) for pid in pool)

    _wait(connected, 10, f"pool processes {pool} connected to ports {store_port}, {broker_port}")
