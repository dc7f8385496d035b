"""Real ``conveyor worker`` processes for the Celery integration tests.

Several tests run their DAGs on real Celery workers over Redis. Each used to carry its own
copy of the same code: skip (or, in CI, fail) when Redis is down, start ``conveyor worker``
in a session of its own, wait until it registers in the store's ``worker`` table, and stop
it afterwards with SIGTERM, then SIGKILL of its whole process group if it does not exit.
That code lives here once, so a fix to how workers start or stop reaches every test.

What stays in each test file is what makes it that test: its Redis database number, its
queue, the worker's environment, and its assertions.

Imported as ``celery_workers`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from conftest import make_settings, runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_app import make_app
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import worker

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
REDIS_URL = "redis://127.0.0.1:6379"
STOP_GRACE_SECONDS = 30.0
REGISTER_LIMIT_SECONDS = 40.0


def reachable(url: str, timeout: float = 2) -> bool:
    """Whether a TCP connection to the URL's host and port opens within ``timeout``."""
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=timeout).close()
    except OSError:
        return False
    return True


def require_redis(*, fail_in_ci: bool = True) -> None:
    """Skip the calling test when Redis is down; in CI (``CI=true``) fail it instead."""
    if reachable(REDIS_URL):
        return
    if fail_in_ci and os.environ.get("CI") == "true":
        pytest.fail("redis is unreachable")
    pytest.skip("redis is unreachable")


def wait_for_workers(
    db_url: str, names: Iterable[str], limit: float = REGISTER_LIMIT_SECONDS
) -> None:
    """Wait until every named worker (``name@host`` as given to ``-n``) is in the store."""
    wanted = set(names)
    seen: set[str] = set()
    store = Store(db_url)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            with store.read() as conn:
                seen = set(conn.execute(select(worker.c.hostname)).scalars())
            if wanted <= seen:
                return
            time.sleep(0.2)
        raise AssertionError(f"workers {sorted(wanted - seen)} did not report within {limit}s")
    finally:
        store.dispose()


def wait_for_worker(db_url: str, name: str, limit: float = REGISTER_LIMIT_SECONDS) -> None:
    """Wait until the named worker is in the store; AssertionError after ``limit`` seconds."""
    wait_for_workers(db_url, [name], limit)


def spawn_worker(
    queue: str,
    name: str,
    env: Mapping[str, str],
    log: IO[str],
    *,
    concurrency: int = 2,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``conveyor worker -q QUEUE -c N -n NAME`` in a session (process group) of its own,
    so that stopping it can kill its pool too; stdout and stderr go to ``log``."""
    return subprocess.Popen(
        [CONVEYOR, "worker", "-q", queue, "-c", str(concurrency), "-n", name],
        cwd=cwd,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_workers(
    processes: Iterable[subprocess.Popen[bytes]],
    grace: float = STOP_GRACE_SECONDS,
    *,
    at_once: bool = False,
) -> None:
    """SIGTERM every worker still running, then wait for each; one that has not exited
    within ``grace`` seconds gets SIGKILL sent to its whole process group.

    ``at_once``: SIGKILL to every group straight away, for a test that is over and reads
    nothing a stopping worker writes (its row, its pool processes' last words). A warm stop
    of an idle worker takes 3 to 4 s here, most of it Celery's pool processes pausing a second
    before they exit.
    """
    processes = list(processes)
    if at_once:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        return
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass(frozen=True)
class WorkerSpec:
    """One worker to start: ``-n name -q queue -c concurrency``, its env and its log file."""

    name: str
    queue: str
    env: Mapping[str, str]
    log: Path
    concurrency: int = 2
    cwd: Path | None = None


@contextmanager
def start_workers(
    specs: Sequence[WorkerSpec],
    db_url: str | None,
    limit: float = REGISTER_LIMIT_SECONDS,
    *,
    at_once: bool = False,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start the workers, wait until all registered in the store at ``db_url`` (``None``:
    do not wait), yield their processes in order, and stop them all on the way out
    (``at_once``: see ``stop_workers``)."""
    processes: list[subprocess.Popen[bytes]] = []
    handles: list[IO[str]] = []
    try:
        for spec in specs:
            handle = spec.log.open("w")
            handles.append(handle)
            processes.append(
                spawn_worker(
                    spec.queue,
                    spec.name,
                    spec.env,
                    handle,
                    concurrency=spec.concurrency,
                    cwd=spec.cwd,
                )
            )
        if db_url is not None:
            wait_for_workers(db_url, [spec.name for spec in specs], limit)
        yield processes
    finally:
        stop_workers(processes, at_once=at_once)
        for opened in handles:
            opened.close()


@contextmanager
def start_worker(
    queue: str,
    name: str,
    env: Mapping[str, str],
    log: Path,
    *,
    db_url: str | None,
    concurrency: int = 2,
    cwd: Path | None = None,
    limit: float = REGISTER_LIMIT_SECONDS,
    at_once: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """One worker: see ``start_workers``."""
    spec = WorkerSpec(name, queue, env, log, concurrency, cwd)
    with start_workers([spec], db_url, limit, at_once=at_once) as (process,):
        yield process


def celery_settings(
    tmp_path: Path, dags: Path, db_url: str, broker: str, **overrides: Any
) -> Settings:
    """A test's settings for the Celery executor on ``broker``, with the messages a previous
    test left on it purged."""
    found = make_settings(tmp_path, dags, db_url, executor="celery", broker_url=broker, **overrides)
    make_app(found).control.purge()
    return found


def worker_env(settings: Settings, broker: str, **extra: str) -> dict[str, str]:
    """A ``conveyor worker``'s environment for the test's store and broker: the settings'
    home and DAG folder, half-second heartbeats, a 1 s kill grace; ``extra`` on top."""
    return {
        **os.environ,
        "CONVEYOR_HOME": str(settings.home),
        "CONVEYOR_DAGS_FOLDER": str(settings.dags_path),
        "CONVEYOR_DATABASE_URL": settings.db_url,
        "CONVEYOR_BROKER_URL": broker,
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
        "CONVEYOR_KILL_GRACE_SECONDS": "1",
        **extra,
    }


def run_on_celery(
    settings: Settings,
    store: Store,
    dag_id: str,
    log: Path,
    *,
    limit: float = 60.0,
    until: Callable[[], bool] | None = None,
) -> int:
    """A manual run of the (synced) DAG, run by a real scheduler with the Celery executor
    until it finished (and ``until()``, if given) or ``limit`` seconds passed; asserts it
    finished, showing the worker's ``log``. The run's pk."""
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
    scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
    done = runs_finished(store, [run_pk])
    deadline = time.monotonic() + limit

    def settled() -> bool:
        return (done() and (until is None or until())) or time.monotonic() > deadline

    scheduler.run(until=settled)
    assert done(), log.read_text()[-3000:]
    return run_pk


def pool_processes(worker_pid: int) -> list[int]:
    """The pids of a worker's pool processes: its main process's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == worker_pid:
            found.append(int(entry.name))
    return found


def remote_ports(pid: int) -> set[int]:
    """The remote TCP ports of the connections process ``pid`` holds open (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if inode in inodes and state == "01":  # ESTABLISHED
                ports.add(int(remote.rsplit(":", 1)[1], 16))
    return ports
