"""Another user's wait while one client floods the login form, on SQLite and PostgreSQL.

For each store it starts real processes: on SQLite ``conveyor standalone`` (the web, the
scheduler and the local executor in one process, as the embedded default runs), on
PostgreSQL ``conveyor web`` and ``conveyor scheduler``. Then two phases of ``--seconds``
each, the baseline first:

- the other user, logged in as a viewer from 127.0.0.1, asks for ``/api/v1/version`` and a
  DAG's page (``/dags/bench_chain``) one after the other, and each answer's latency is kept;
- runs of a chain of ``--chain`` no-op tasks are triggered one after the other, and each hop
  (one task's code ended to the next one's code started) is kept;
- in the flood phase only, a child process (so that its client work does not share this
  process's interpreter lock) keeps ``--flood`` wrong logins in flight from 127.0.0.2: each
  of its connections posts the next as soon as the last was answered, whatever it was.

    .venv/bin/python bench/login_flood.py [--stores sqlite,postgres] [--seconds 10]
        [--flood 100] [--chain 30] [--pg-url postgresql://postgres@127.0.0.1:5432]
        [--database conveyor_bench_flood] [--json]

The promise: during the flood, the other user's API call answers within 1 s at the 95th
percentile on both stores, no answer is a 5xx, and the scheduler's hop does not stall.
Figures are printed beside the baseline's of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg

from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.web import accounts

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
VIEWER = ("ann", "ann-password-1")
FLOODED = ("admin", "admin-password-1")
CHAIN_DAG = """
import os
import time
from datetime import datetime

from conveyor import DAG, PythonOperator, chain

MARKS = {marks!r}


def mark(task_id):
    def run():
        start = time.time()
        end = time.time()
        fd = os.open(MARKS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{{task_id}} {{start:.6f}} {{end:.6f}}\\n".encode())
        os.close(fd)

    return run


with DAG("bench_chain", schedule=None, start_date=datetime(2024, 1, 1)):
    chain(*[PythonOperator(task_id=f"t{{i:04d}}", python_callable=mark(f"t{{i:04d}}"))
            for i in range({n})])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str], logs: Path) -> Iterator[None]:
    """The commands as processes, output to files; stopped (and waited for) on the way out."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n, command in enumerate(commands):
            with open(logs / f"process-{n}.log", "wb") as output:
                started.append(
                    subprocess.Popen(
                        command,
                        env=env,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not found:
        raise RuntimeError("no CSRF token in the login page")
    return found.group(1)


def wait_until(check: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not happen within {limit:.0f}s")


def logged_in_viewer(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/login")
    done = client.post(
        "/login",
        data={"username": VIEWER[0], "password": VIEWER[1], "csrf_token": csrf_from(form.text)},
    )
    if done.status_code not in (200, 303):
        raise RuntimeError(f"the viewer could not log in: {done.status_code} {done.text[:200]}")
    return client


class Chains:
    """Runs of the chain, one after the other, until stopped; the hops from the marks file."""

    def __init__(self, store: Store, marks: Path) -> None:
        self.store = store
        self.marks = marks
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.runs = 0

    def __enter__(self) -> Chains:
        self.marks.write_text("")
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.store.write() as conn:
                run_pk = runs.create_manual_run(conn, "bench_chain", created_by="bench")
            while not self.stop.is_set() and not self._finished(run_pk):
                time.sleep(0.1)
            self.runs += 1

    def _finished(self, run_pk: int | None) -> bool:
        with self.store.read() as conn:
            state = conn.exec_driver_sql(
                "SELECT state FROM dag_run WHERE id = ?"
                if self.store.is_sqlite
                else "SELECT state FROM dag_run WHERE id = %s",
                (run_pk,),
            ).scalar()
        return state in ("success", "failed")

    def hops(self) -> list[float]:
        marks = []
        for line in self.marks.read_text().splitlines():
            task_id, start, end = line.split()
            marks.append((float(start), float(end), task_id))
        marks.sort()
        return [
            later[0] - earlier[1]
            for earlier, later in itertools.pairwise(marks)
            if later[2] != "t0000"  # a run's first task: the time between two runs
        ]


def victim(base: str, seconds: float) -> dict[str, Any]:
    """The other user's requests, one after the other, for ``seconds``."""
    latencies: dict[str, list[float]] = {"/api/v1/version": [], "/dags/bench_chain": []}
    codes: Counter[int] = Counter()
    with closing(logged_in_viewer(base)) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for path, kept in latencies.items():
                started = time.perf_counter()
                try:
                    codes[client.get(path).status_code] += 1
                except httpx.TimeoutException:
                    codes[0] += 1  # no answer within the client's 60 s
                kept.append(time.perf_counter() - started)
    return {**latencies, "codes": codes}


async def _flood(base: str, concurrency: int, seconds: float, address: str) -> dict[str, int]:
    """Fetch a login form per connection, say ``ready``, then keep ``concurrency`` wrong
    logins in flight for ``seconds``; the answers' codes."""
    codes: Counter[str] = Counter()
    # Idle connections are dropped before the server's keep-alive timeout (5 s) would close
    # them under a request: a connection error is then the server's doing, not the client's.
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=4
    )
    shared = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
    clients = [
        httpx.AsyncClient(base_url=base, transport=shared, timeout=120) for _ in range(concurrency)
    ]

    async def form(client: httpx.AsyncClient) -> str:
        while True:
            answer = await client.get("/login")
            if answer.status_code == 200:
                return csrf_from(answer.text)
            await asyncio.sleep(0.05)  # over the address's limit: the forms come in turn

    tokens = await asyncio.gather(*[form(client) for client in clients])
    print("ready", flush=True)
    deadline = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient, csrf: str) -> None:
        while time.monotonic() < deadline:
            try:
                answer = await client.post(
                    "/login",
                    data={"username": FLOODED[0], "password": "wrong", "csrf_token": csrf},
                )
                codes[str(answer.status_code)] += 1
            except httpx.TransportError as exc:
                codes[type(exc).__name__] += 1

    await asyncio.gather(*[one(c, t) for c, t in zip(clients, tokens, strict=True)])
    await shared.aclose()
    return dict(codes)


def flood_child(base: str, concurrency: int, seconds: float) -> subprocess.Popen[str]:
    """The flood's process, once it said ``ready`` (its forms fetched)."""
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--flood-worker",
            base,
            "--flood",
            str(concurrency),
            "--seconds",
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        child.communicate()
        raise RuntimeError("the flood's process did not start")
    return child


def phase(
    base: str, chains_store: Store, marks: Path, seconds: float, flood: int | None
) -> dict[str, Any]:
    child = flood_child(base, flood, seconds) if flood else None
    try:
        with Chains(chains_store, marks) as chains:
            seen = victim(base, seconds)
        flooded = json.loads(child.communicate(timeout=300)[0]) if child else {}
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.communicate()
    hops = chains.hops()
    result: dict[str, Any] = {
        "codes": dict(seen.pop("codes")),
        "flood": flooded,
        "runs": chains.runs,
    }
    for path, values in seen.items():
        assert isinstance(values, list)
        result[path] = {
            "n": len(values),
            "p50": statistics.median(values),
            "p95": percentile(values, 95),
            "max": max(values),
        }
    result["hop"] = {
        "n": len(hops),
        "p50": statistics.median(hops) if hops else None,
        "p95": percentile(hops, 95) if hops else None,
        "max": max(hops) if hops else None,
    }
    return result


def prepare_postgres(pg_url: str, database: str) -> str:
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    return f"{pg_url}/{database}"


def measure(store_kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="conveyor-flood-") as tmp_name:
        tmp = Path(tmp_name)
        home, dags, marks = tmp / "home", tmp / "dags", tmp / "marks"
        dags.mkdir()
        (dags / "bench_chain.py").write_text(CHAIN_DAG.format(marks=str(marks), n=args.chain))
        if store_kind == "sqlite":
            url = f"sqlite:///{home / 'conveyor.db'}"
            home.mkdir()
        else:
            url = prepare_postgres(args.pg_url, args.database)
        store = Store(url)
        schema.migrate(store)
        accounts.create_user(store, VIEWER[0], "viewer", VIEWER[1])
        accounts.create_user(store, FLOODED[0], "admin", FLOODED[1])
        port = free_port()
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(home),
            "CONVEYOR_DATABASE_URL": url,
            "CONVEYOR_DAGS_FOLDER": str(dags),
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
        }
        if store_kind == "sqlite":
            commands = [[CONVEYOR, "standalone", "--port", str(port)]]
        else:
            commands = [[CONVEYOR, "web", "--port", str(port)], [CONVEYOR, "scheduler"]]
        base = f"http://127.0.0.1:{port}"
        try:
            with processes(commands, env, tmp), _log_on_error(tmp):
                wait_until(lambda: httpx.get(f"{base}/health", timeout=5), 60, "the web's start")
                with closing(logged_in_viewer(base)) as viewer:
                    wait_until(
                        lambda: viewer.get("/api/v1/dags/bench_chain").status_code == 200,
                        60,
                        "bench_chain's parse",
                    )
                baseline = phase(base, store, marks, args.seconds, None)
                flooded = phase(base, store, marks, args.seconds, args.flood)
        finally:
            store.dispose()
        return {"baseline": baseline, "flood": flooded}


@contextmanager
def _log_on_error(logs: Path) -> Iterator[None]:
    """The processes' output, printed when the measurement fails."""
    try:
        yield
    except Exception:
        for log in sorted(logs.glob("process-*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise


def print_table(kind: str, result: dict[str, Any]) -> None:
    base, flood = result["baseline"], result["flood"]
    print(
        f"\n{kind}: flood answers {flood['flood']}; the viewer's answers "
        f"{base['codes']} (baseline), {flood['codes']} (flood); chain runs "
        f"{base['runs']} / {flood['runs']}"
    )
    print(f"{'figure':<40} {'baseline':>10} {'flood':>10} {'ratio':>7}")
    for key, label in (
        ("/api/v1/version", "GET /api/v1/version"),
        ("/dags/bench_chain", "GET /dags/bench_chain (page)"),
        ("hop", "scheduler: chain hop"),
    ):
        for q in ("p50", "p95", "max"):
            before, during = base[key][q], flood[key][q]
            if before is None or during is None:
                continue
            ratio = during / before if before else float("nan")
            print(
                f"{label + ', ' + q:<40} {before * 1000:>8.1f}ms {during * 1000:>8.1f}ms "
                f"{ratio:>7.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flood", type=int, default=100)
    parser.add_argument("--chain", type=int, default=30)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="conveyor_bench_flood")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--flood-worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood_worker:
        codes = asyncio.run(_flood(args.flood_worker, args.flood, args.seconds, "127.0.0.2"))
        print(json.dumps(codes))
        return
    results = {}
    for kind in args.stores.split(","):
        results[kind] = measure(kind, args)
        if not args.json:
            print_table(kind, results[kind])
            sys.stdout.flush()
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
