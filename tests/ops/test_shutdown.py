"""SIGTERM stops `conveyor scheduler` and `conveyor worker` cleanly; a crash needs no clean-up.

Real processes on a real store; the worker uses Redis DB 9 and a queue of its own, so it never
takes another test's messages. The processes also serve their metrics on ``metrics_port``,
which is where the scheduler's loop time is read.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from ops_helpers import CONVEYOR, clean_env, pid_files, wait_until
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from conveyor.clock import utcnow
from conveyor.config import load_config
from conveyor.metrics import registry_for
from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.store.tables import scheduler, worker

BROKER = "redis://127.0.0.1:6379/9"
#: Seconds a clean stop may take: a scheduler loop plus the executor's grace.
STOP_LIMIT = 20.0

DAG = """
from conveyor import DAG, task

with DAG("idle_here"):
    @task
    def nothing():
        return None

    nothing()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def _loops(port: int) -> float:
    try:
        return _scrape(port).get("conveyor_scheduler_loop_seconds_count", 0.0)
    except OSError:
        return 0.0  # not listening yet


def _stop(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=STOP_LIMIT + 30)
    return code, time.monotonic() - started


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _start_crashable(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process in a session of its own, so a crash can take its children with it."""
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _crash(process: subprocess.Popen[bytes]) -> None:
    """What the OOM killer or a power cut does: SIGKILL to the process and its children."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _scheduler_env(tmp_path: Path, port: int) -> dict[str, str]:
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "idle.py").write_text(DAG)
    return clean_env(
        tmp_path / "home",
        dags_folder=str(dags),
        scheduler_loop_seconds="0.1",
        heartbeat_seconds="0.5",
        kill_grace_seconds="1",
        metrics_port=str(port),
    )


def test_scheduler_stops_on_sigterm_and_restarts_after_a_crash(tmp_path: Path) -> None:
    port = _free_port()
    env = _scheduler_env(tmp_path, port)
    store = Store(f"sqlite:///{tmp_path / 'home' / 'conveyor.db'}")
    process = _start([CONVEYOR, "scheduler"], env, tmp_path / "first.log")
    try:
        wait_until(lambda: _loops(port) >= 5, 30, "five timed scheduler loops")
        figures = _scrape(port)
        assert figures["conveyor_scheduler_loop_seconds_sum"] > 0
        assert figures["process_resident_memory_bytes"] > 0
    finally:
        code, took = _stop(process)
    assert code == 0, (tmp_path / "first.log").read_text()[-2000:]
    assert took < STOP_LIMIT
    with store.read() as conn:
        (row,) = conn.execute(select(scheduler)).all()
    assert row.stopped_at is not None  # it said goodbye in the store
    assert pid_files(tmp_path) == []

    # A crash (SIGKILL: no handler runs) leaves nothing a person must delete: on the same
    # SQLite store, where a second live scheduler is refused, a new one starts at once.
    crashed = _start_crashable([CONVEYOR, "scheduler"], env)
    wait_until(lambda: _loops(port) >= 2, 30, "the second scheduler looping")
    _crash(crashed)
    again = _start([CONVEYOR, "scheduler"], env, tmp_path / "again.log")
    try:
        wait_until(lambda: _loops(port) >= 2, 30, "a scheduler started after the crash")
    finally:
        code, _ = _stop(again)
    assert code == 0, (tmp_path / "again.log").read_text()[-2000:]
    assert pid_files(tmp_path) == []
    store.dispose()


def _worker_row(store: Store, name: str) -> object | None:
    with store.read() as conn:
        return conn.execute(select(worker).where(worker.c.hostname == name)).first()


def test_worker_stops_on_sigterm_and_restarts_after_a_crash(tmp_path: Path) -> None:
    queue = f"ops_shutdown_{uuid.uuid4().hex[:8]}"
    name = f"{queue}@test"
    port = _free_port()
    env = clean_env(
        tmp_path / "home",
        executor="celery",
        broker_url=BROKER,
        heartbeat_seconds="0.5",
        kill_grace_seconds="1",
        metrics_port=str(port),
    )
    store = Store(f"sqlite:///{tmp_path / 'home' / 'conveyor.db'}")
    schema.migrate(store)
    command = [CONVEYOR, "worker", "--queues", queue, "--concurrency", "1", "--hostname", name]

    def heartbeat_after(moment: object) -> bool:
        row = _worker_row(store, name)
        return row is not None and row.stopped_at is None and row.heartbeat_at > moment  # type: ignore[attr-defined]

    process = _start(command, env, tmp_path / "first.log")
    try:
        begun = utcnow()
        wait_until(lambda: heartbeat_after(begun), 60, "the worker's heartbeat")
        assert _scrape(port)["process_resident_memory_bytes"] > 0
        # The web's /metrics reads the same heartbeat from the store.
        settings = load_config(env).settings
        exposition = generate_latest(registry_for(store, settings)).decode()
        ages = {
            sample.labels["worker"]: sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
            if sample.name == "conveyor_worker_heartbeat_age_seconds"
        }
        assert 0 <= ages[name] < 5
    finally:
        code, took = _stop(process)
    assert code == 0, (tmp_path / "first.log").read_text()[-2000:]
    assert took < STOP_LIMIT
    row = _worker_row(store, name)
    assert row is not None and row.stopped_at is not None  # type: ignore[attr-defined]
    assert pid_files(tmp_path) == []

    # SIGKILL, then start again with the same name: nothing to delete first.
    crashed = _start_crashable(command, env)
    begun = utcnow()
    wait_until(lambda: heartbeat_after(begun), 60, "the second worker's heartbeat")
    _crash(crashed)
    again = _start(command, env, tmp_path / "again.log")
    try:
        begun = utcnow()
        wait_until(lambda: heartbeat_after(begun), 60, "a worker started after the crash")
    finally:
        code, _ = _stop(again)
    assert code == 0, (tmp_path / "again.log").read_text()[-2000:]
    assert pid_files(tmp_path) == []
    store.dispose()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def test_web_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = clean_env(tmp_path / "home")
    schema.migrate(Store(f"sqlite:///{tmp_path / 'home' / 'conveyor.db'}"))
    process = _start(
        [CONVEYOR, "web", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "web.log"
    )
    try:
        wait_until(lambda: _answers(port), 60, "the web process answering /metrics")
    finally:
        code, took = _stop(process)
    # uvicorn shuts down gracefully, then re-raises the signal it caught, so the process ends
    # "killed by SIGTERM", which systemd and container engines count as a clean stop.
    assert code in (0, -signal.SIGTERM), (tmp_path / "web.log").read_text()[-2000:]
    assert took < STOP_LIMIT
    assert not _answers(port)
    assert "Traceback" not in (tmp_path / "web.log").read_text()
    assert pid_files(tmp_path) == []
