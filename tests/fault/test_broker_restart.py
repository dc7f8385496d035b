"""The broker restarted empty, and a worker killed outright: lost messages are sent again at
the speed of detection, not after ``requeue_after_seconds`` (60 s here).

Runs a real ``conveyor scheduler`` and real ``conveyor worker`` processes against a Redis
server of the test's own on port 6390 (never the machine's shared one: this test kills it),
started without persistence so that every restart comes back empty. Tries count their own
executions in a file, so "lost" and "ran twice" are measured from what ran.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from faultlib import Cluster, report, wait_for
from sqlalchemy import select

from conveyor.config import load_config
from conveyor.states import RUN_FINISHED
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance

pytestmark = pytest.mark.timeout(300)

REDIS_PORT = 6390
REQUEUE_AFTER_SECONDS = 60.0
#: The run must resume within this of the broker's return (the goal is 5 s; CI is slower).
RESUME_LIMIT_SECONDS = 15.0

DAG_SOURCE = '''
import os
import time

from conveyor import DAG, task

COUNT_FILE = {count_file!r}


def count(ti):
    """One line per try that really started."""
    line = f"{{ti.dag_id}} {{ti.run_id}} {{ti.task_id}} {{ti.try_number}}\\n"
    fd = os.open(COUNT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


with DAG(
    "fan",
    max_active_tasks=256,
    default_args={{"queue": {queue!r}, "retries": 1, "retry_delay": 0}},
) as fan:
    @task
    def part(i, ti=None):
        count(ti)
        time.sleep(0.3 + (i % 3) * 0.1)

    for i in range({width}):
        part.override(task_id=f"part_{{i:03d}}")(i)
'''


class PrivateRedis:
    """A redis-server child of the test, killed and started again empty at will."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    url = f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(REDIS_PORT),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            ping = subprocess.run(
                ["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.02)
        raise AssertionError(f"redis-server on port {REDIS_PORT} did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def restart_empty(self, down: float) -> float:
        """Kill the server, wait ``down`` seconds, start it empty; the moment it is back."""
        self.kill()
        time.sleep(down)
        self.start()
        return time.monotonic()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server is not installed")
    taken = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True)
    if taken.stdout.strip() == b"PONG":
        pytest.fail(f"port {REDIS_PORT} is taken by another Redis; this test must own it")
    server = PrivateRedis(tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def cluster(tmp_path: Path, pg_database_url: str, redis: PrivateRedis) -> Iterator[Cluster]:
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    dags = tmp_path / "dags"
    dags.mkdir()
    count_file = tmp_path / "executions.txt"
    (dags / "fan.py").write_text(
        textwrap.dedent(DAG_SOURCE.format(count_file=str(count_file), queue=queue, width=60))
    )
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": pg_database_url,
        "CONVEYOR_BROKER_URL": redis.url,
        "CONVEYOR_EXECUTOR": "celery",
        "CONVEYOR_PARALLELISM": "16",
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
        "CONVEYOR_DAG_SCAN_SECONDS": "0.5",
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
        "CONVEYOR_ZOMBIE_AFTER_SECONDS": "10",
        "CONVEYOR_REQUEUE_AFTER_SECONDS": str(REQUEUE_AFTER_SECONDS),
        "CONVEYOR_KILL_GRACE_SECONDS": "2",
    }
    settings = load_config(env).settings
    running = Cluster(tmp_path, env, settings, Store(settings.db_url), count_file, queue)
    try:
        running.start_scheduler("scheduler")
        for name in ("w1", "w2"):
            start_worker(running, name)
        wait_for(lambda: fan_parsed(running.store), 60, "the DAG parsed", running)
        wait_for(lambda: workers_registered(running.store, 2), 60, "workers up", running)
        yield running
    finally:
        running.stop_all()
        running.store.dispose()


def start_worker(cluster: Cluster, name: str) -> None:
    cluster.workers[name] = cluster._start(
        name, ["worker", "-q", cluster.queue, "-c", "2", "-n", f"{name}@{cluster.queue}"]
    )


def fan_parsed(store: Store) -> bool:
    with store.read() as conn:
        return conn.execute(select(dag.c.dag_id).where(dag.c.dag_id == "fan")).first() is not None


def workers_registered(store: Store, count: int) -> bool:
    from conveyor.store.tables import worker

    with store.read() as conn:
        return len(conn.execute(select(worker.c.hostname)).all()) >= count


def trigger(cluster: Cluster) -> str:
    """A new run of ``fan``; its run id."""
    before = run_ids(cluster.store)
    cluster.trigger("fan")
    (new,) = run_ids(cluster.store) - before
    return new


def run_ids(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(dag_run.c.run_id)).scalars())


def executions(cluster: Cluster) -> list[tuple[str, ...]]:
    if not cluster.count_file.exists():
        return []
    return [tuple(line.split()) for line in cluster.count_file.read_text().splitlines()]


def started(cluster: Cluster, run_id: str) -> set[str]:
    return {e[2] for e in executions(cluster) if e[1] == run_id}


def queued(store: Store, run_id: str) -> set[str]:
    with store.read() as conn:
        return set(
            conn.execute(
                select(task_instance.c.task_id).where(
                    task_instance.c.run_id == run_id, task_instance.c.state == "queued"
                )
            ).scalars()
        )


def run_finished(store: Store, run_id: str) -> bool:
    with store.read() as conn:
        state = conn.execute(select(dag_run.c.state).where(dag_run.c.run_id == run_id)).scalar()
    return state in RUN_FINISHED


def wait_until_all_started(cluster: Cluster, run_id: str, tasks: set[str], since: float) -> float:
    """Seconds from ``since`` until every one of ``tasks`` has started."""
    wait_for(
        lambda: tasks <= started(cluster, run_id),
        REQUEUE_AFTER_SECONDS,
        f"{sorted(tasks - started(cluster, run_id))} started",
        cluster,
    )
    return time.monotonic() - since


def assert_every_try_ran_once(cluster: Cluster) -> None:
    """Every task instance ran, and no try ran twice (a try a worker took with it when it
    died is retried under the next try number, which is another try)."""
    ran = Counter(executions(cluster))
    assert [t for t, n in ran.items() if n > 1] == []
    with cluster.store.read() as conn:
        expected = {
            (r.dag_id, r.run_id, r.task_id)
            for r in conn.execute(
                select(task_instance.c.dag_id, task_instance.c.run_id, task_instance.c.task_id)
            )
        }
    assert expected - {t[:3] for t in ran} == set()


def test_broker_restarted_empty_mid_run_resumes_within_seconds(
    cluster: Cluster, redis: PrivateRedis
) -> None:
    pids = {name: w.pid for name, w in cluster.workers.items()}
    resumes = []
    stranded_counts = []
    for _ in range(3):
        run_id = trigger(cluster)
        wait_for(lambda: len(started(cluster, run_id)) >= 10, 60, "tries running", cluster)  # noqa: B023
        back = redis.restart_empty(down=1.0)
        stranded = queued(cluster.store, run_id)  # their messages went with the broker's data
        stranded_counts.append(len(stranded))
        resumes.append(wait_until_all_started(cluster, run_id, stranded, back))
        wait_for(lambda: run_finished(cluster.store, run_id), 90, "run finished", cluster)  # noqa: B023
    report(
        "broker restarted empty mid-run",
        tries_stranded=stranded_counts,
        seconds_to_resume=[round(r, 2) for r in resumes],
    )
    assert max(stranded_counts) > 0, "the restarts stranded no queued try: nothing was tested"
    assert max(resumes) < RESUME_LIMIT_SECONDS < REQUEUE_AFTER_SECONDS / 2
    assert_every_try_ran_once(cluster)
    with cluster.store.read() as conn:
        ran_twice = conn.execute(
            select(task_instance.c.task_id).where(task_instance.c.try_number > 1)
        ).all()
    assert ran_twice == []  # no worker lost a running try either
    assert {name: w.pid for name, w in cluster.workers.items() if w.poll() is None} == pids


def test_workers_ride_out_restarts_in_a_row(cluster: Cluster, redis: PrivateRedis) -> None:
    pids = {name: w.pid for name, w in cluster.workers.items()}
    for down in (0.2, 1.0, 0.5, 2.0, 0.2, 1.0):
        redis.restart_empty(down)
        time.sleep(1.0)
    assert {name: w.pid for name, w in cluster.workers.items() if w.poll() is None} == pids
    logs = "".join((cluster.tmp / f"{name}.log").read_text() for name in pids)
    assert "Unrecoverable error" not in logs
    run_id = trigger(cluster)  # and they still take work
    took = wait_for(lambda: run_finished(cluster.store, run_id), 60, "run finished", cluster)
    assert took < REQUEUE_AFTER_SECONDS / 2
    assert len(started(cluster, run_id)) == 60
    assert_every_try_ran_once(cluster)


def test_a_killed_workers_prefetched_tries_run_again_within_heartbeats(cluster: Cluster) -> None:
    run_id = trigger(cluster)
    wait_for(lambda: len(started(cluster, run_id)) >= 6, 60, "tries running", cluster)
    victim = cluster.workers.pop("w1")
    with suppress(ProcessLookupError):
        os.killpg(victim.pid, signal.SIGKILL)  # its pool too: no shutdown code runs
    victim.wait(timeout=30)
    killed_at = time.monotonic()
    waiting = queued(cluster.store, run_id)  # the dead worker's prefetched tries among them
    took = wait_until_all_started(cluster, run_id, waiting, killed_at)
    report("worker killed", queued_when_killed=len(waiting), seconds_until_all_started=took)
    assert took < REQUEUE_AFTER_SECONDS / 3
    wait_for(lambda: run_finished(cluster.store, run_id), 90, "run finished", cluster)
    assert_every_try_ran_once(cluster)


def test_a_lost_connection_holding_prefetched_messages_closes_without_error(
    redis: PrivateRedis,
) -> None:
    """The state Celery's consumer leaves after ``collect()`` on a lost Redis connection: the
    transport detached, the task channel still open with its pools gone and a prefetched
    message unacknowledged. Closing it used to raise AttributeError (the worker exited with
    "Unrecoverable error"); the worker's guard makes the close go through."""
    from kombu import Connection, Consumer, Exchange, Producer, Queue

    from conveyor.executors.celery_app import guard_close_after_collect

    def lost_connection() -> Connection:
        connection = Connection(redis.url)
        queue = Queue("prefetched", Exchange("prefetched"), "prefetched")
        with connection.channel() as channel:
            Producer(channel).publish(
                {"n": 1}, exchange=queue.exchange, routing_key="prefetched", declare=[queue]
            )
        held: list[object] = []
        consumer = Consumer(
            connection.default_channel, [queue], callbacks=[lambda _, m: held.append(m)]
        )
        consumer.consume()
        connection.drain_events(timeout=5)
        assert len(connection.default_channel.qos._delivered) == 1  # prefetched, not acked
        return connection

    unguarded, guarded = lost_connection(), lost_connection()
    guard_close_after_collect(guarded)
    redis.kill()
    for connection in (unguarded, guarded):
        connection.default_channel._disconnect_pools()
        connection._do_close_transport()
    with pytest.raises(AttributeError, match="hostname"):  # kombu as installed
        unguarded.close()
    guarded.close()
