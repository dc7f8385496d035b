"""Recovery from a broker restart: how long a run stands still after Redis comes back empty.

Starts a Redis server of its own (by default on port 6390, no persistence, so every restart
comes back empty), a fresh PostgreSQL database, a real ``conveyor scheduler`` and two real
``conveyor worker`` processes. For each restart it triggers a run of a wide DAG, waits until
tries are running, kills Redis (SIGKILL), starts it again empty after ``--down`` seconds, and
measures the time from "the broker is back" to the first try that starts after it. Every try
appends one line to a file when it starts, so "lost" and "ran twice" are counted from what
ran, not from what the store says.

    .venv/bin/python bench/broker_restart.py [--restarts 10] [--tasks 100] [--workers 2]
        [--concurrency 2] [--down 2] [--port 6390]
        [--pg-url postgresql://postgres@127.0.0.1:5432] [--database conveyor_bench_broker]

``requeue_after_seconds`` stays at its default (30 s): a resume well under it is the broker
check at work, not the requeue of tries queued for too long.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import select

from conveyor.states import RUN_FINISHED
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
DAG_SOURCE = '''
import os
import time

from conveyor import DAG, task

COUNT_FILE = {count_file!r}


def count(ti):
    """One line per try that really started: its run, its task and when."""
    line = f"{{ti.run_id}} {{ti.task_id}} {{ti.try_number}} {{time.time():.3f}}\\n"
    fd = os.open(COUNT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


with DAG("restarts", max_active_tasks=256,
         default_args={{"queue": {queue!r}, "retries": 0}}) as restarts:
    @task
    def part(i, ti=None):
        count(ti)
        time.sleep(0.2 + (i % 5) * 0.05)

    for i in range({tasks}):
        part.override(task_id=f"part_{{i:03d}}")(i)
'''


class PrivateRedis:
    """A redis-server child of this process: killed and started again at will, empty."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
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
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@dataclass
class Restart:
    number: int
    stranded: int  # tries queued when the broker came back
    first_start: float | None  # seconds from the broker's return to the first try started
    resume_seconds: float | None  # ... to the start of the last stranded try
    run_seconds: float | None
    workers_alive: int


def fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


def recreate_database(pg_url: str, name: str) -> str:
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_url}/{name}"


def executions(count_file: Path) -> list[tuple[str, str, int, float]]:
    if not count_file.exists():
        return []
    rows = []
    for line in count_file.read_text().splitlines():
        run_id, task_id, try_number, at = line.split()
        rows.append((run_id, task_id, int(try_number), float(at)))
    return rows


def wait_for(condition, limit: float, step: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def run_finished(store: Store, run_pk: int) -> bool:
    with store.read() as conn:
        state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar_one()
    return state in RUN_FINISHED


def one_restart(
    number: int,
    store: Store,
    redis: PrivateRedis,
    count_file: Path,
    workers: list[subprocess.Popen[bytes]],
    args: argparse.Namespace,
) -> Restart:
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "restarts", created_by="bench")
        assert run_pk is not None
        run_id = runs.get_run(conn, run_pk).run_id

    def started() -> int:
        return sum(1 for row in executions(count_file) if row[0] == run_id)

    began = time.monotonic()
    wait_for(lambda: started() >= args.tasks // 5, 120)
    redis.kill()
    time.sleep(args.down)
    redis.start()
    back = time.time()

    stranded = queued_tasks(store, run_pk)  # their messages died with the broker's data

    def first_start() -> float | None:
        after = [row[3] for row in executions(count_file) if row[0] == run_id and row[3] >= back]
        return min(after) - back if after else None

    def stranded_started() -> float | None:
        starts = {row[1]: row[3] for row in executions(count_file) if row[0] == run_id}
        if not stranded <= set(starts):
            return None
        return max((starts[t] - back for t in stranded), default=0.0)

    done = wait_for(lambda: run_finished(store, run_pk), 180, step=0.2)
    return Restart(
        number,
        len(stranded),
        first_start(),
        stranded_started(),
        time.monotonic() - began if done else None,
        sum(1 for w in workers if w.poll() is None),
    )


def queued_tasks(store: Store, run_pk: int) -> set[str]:
    with store.read() as conn:
        return set(
            conn.execute(
                select(task_instance.c.task_id).where(
                    task_instance.c.run_pk == run_pk, task_instance.c.state == "queued"
                )
            ).scalars()
        )


def tally(store: Store, count_file: Path) -> tuple[int, int, int]:
    """(tries expected, lost, ran twice), counted from the execution file."""
    ran = Counter((row[0], row[1]) for row in executions(count_file))
    with store.read() as conn:
        expected = {
            (r.run_id, r.task_id)
            for r in conn.execute(select(task_instance.c.run_id, task_instance.c.task_id))
        }
    return len(expected), len(expected - set(ran)), sum(1 for n in ran.values() if n > 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--down", type=float, default=2.0, help="seconds Redis stays down")
    parser.add_argument("--port", type=int, default=6390, help="port of the private Redis")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="conveyor_bench_broker")
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="conveyor-broker-restart-"))
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    count_file = tmp / "executions.txt"
    (tmp / "dags").mkdir()
    (tmp / "dags" / "restarts.py").write_text(
        DAG_SOURCE.format(count_file=str(count_file), queue=queue, tasks=args.tasks)
    )
    redis = PrivateRedis(args.port, tmp / "redis.log")
    redis.start()
    db_url = recreate_database(args.pg_url, args.database)
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp / "home"),
        "CONVEYOR_DAGS_FOLDER": str(tmp / "dags"),
        "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
        "CONVEYOR_DATABASE_URL": db_url,
        "CONVEYOR_BROKER_URL": redis.url,
        "CONVEYOR_EXECUTOR": "celery",
        "CONVEYOR_PARALLELISM": "16",
        "CONVEYOR_HEARTBEAT_SECONDS": "1",
    }
    subprocess.run([CONVEYOR, "db", "migrate"], env=env, check=True, capture_output=True)
    processes: list[subprocess.Popen[bytes]] = []
    logs = []

    def start(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (tmp / f"{name}.log").open("w")
        logs.append(log)
        process = subprocess.Popen(
            [CONVEYOR, *command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    store = Store(db_url)
    results: list[Restart] = []
    try:
        start("scheduler", ["scheduler"])
        workers = [
            start(
                f"worker{n}",
                ["worker", "-q", queue, "-c", str(args.concurrency), "-n", f"bench{n}@%h"],
            )
            for n in range(1, args.workers + 1)
        ]
        pids = [w.pid for w in workers]

        def parsed() -> bool:
            with store.read() as conn:
                return (
                    conn.execute(select(dag.c.dag_id).where(dag.c.dag_id == "restarts")).first()
                    is not None
                )

        if not wait_for(parsed, 60, step=0.2):
            raise SystemExit(f"the DAG was not parsed; see {tmp}")
        time.sleep(3)  # the workers connect
        for number in range(1, args.restarts + 1):
            results.append(one_restart(number, store, redis, count_file, workers, args))
            row = results[-1]
            print(f"restart {number}: {fmt(row.resume_seconds)} to resume", flush=True)
        expected, lost, twice = tally(store, count_file)
        same_pids = [w.pid for w in workers if w.poll() is None] == pids
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs:
            log.close()
        redis.kill()
        store.dispose()

    print()
    print("seconds from the broker's return to the first try started, and to the start of the")
    print("last try that was queued when it came back (its message lost with the broker's data)")
    print()
    header = ("restart", "stranded", "first start", "resumed", "run took", "workers alive")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in results:
        cells = (
            str(row.number),
            str(row.stranded),
            fmt(row.first_start),
            fmt(row.resume_seconds),
            fmt(row.run_seconds),
            f"{row.workers_alive}/{args.workers}",
        )
        print("| " + " | ".join(cells) + " |")
    resumes = [r.resume_seconds for r in results if r.resume_seconds is not None]
    if resumes:
        print(
            f"\nresume: median {statistics.median(resumes):.2f} s, max {max(resumes):.2f} s "
            f"({len(resumes)}/{len(results)} restarts resumed)"
        )
    print(f"tries: {expected} expected, {lost} lost, {twice} ran twice")
    print(
        f"workers: {'the same processes throughout' if same_pids else 'some were replaced or died'}"
    )
    print(f"logs: {tmp}" if args.keep or not same_pids or lost or twice else "")


if __name__ == "__main__":
    main()
