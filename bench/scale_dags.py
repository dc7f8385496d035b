"""Many DAG files: how long the scheduler takes to register them, and what it costs idle.

For each size N (default 20, 200 and 1,000) and each store (SQLite, PostgreSQL) this writes N
DAG files to a temporary folder, each an hourly DAG of 3 tasks whose start date lies tomorrow
(so nothing runs and the scheduler is idle once they are in), starts a real
``conveyor scheduler`` against a fresh store, and measures from the scheduler's start:

- ``listed``: seconds until all N DAGs are in the store's ``dag`` table (what ``conveyor dags
  list`` and the UI show); if the limit passes first, how many were in by then;
- ``idle CPU``: the scheduler's CPU over ``--idle-seconds`` once they are in and it has
  settled (a 5 s window under 10% of a core, or 60 s), counting its own process and its
  children, from /proc, as a share of one core; when the limit passed first, the rest are
  registered with ``conveyor dags list`` and a new scheduler is measured;
- ``RSS`` / ``PSS`` of the scheduler process, in MiB, at the end.

    .venv/bin/python bench/scale_dags.py                       # 20, 200, 1000 on both stores
    .venv/bin/python bench/scale_dags.py --sizes 20,200 --stores sqlite
    .venv/bin/python bench/scale_dags.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres

``--pg-url`` names a server (its database is only used to create and drop scratch databases
``conveyor_bench_dags_*``). On a shared machine run it under ``nice``: the scheduler inherits it.
``CPU to list`` (CPU seconds of the scheduler and its children until all were listed) varies
less with the machine's load than the wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import psycopg
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url

from conveyor.store.tables import dag

DAG_FILE = '''\
"""Benchmark DAG {i}: hourly, three tasks in a line."""
from datetime import datetime

from conveyor import DAG, BashOperator

with DAG("scale_{i:04d}", schedule="@hourly", start_date=datetime({start}), catchup=False):
    a = BashOperator(task_id="a", bash_command="true")
    b = BashOperator(task_id="b", bash_command="true")
    c = BashOperator(task_id="c", bash_command="true")
    a >> b >> c
'''

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    store: str
    dags: int
    listed_seconds: float | None  # None: not all listed within the limit
    listed_count: int
    cpu_to_list: float  # CPU seconds the scheduler and its children spent until then
    idle_cpu_percent: float
    rss_mib: float
    pss_mib: float


def write_dags(folder: Path, count: int) -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    start = f"{tomorrow.year}, {tomorrow.month}, {tomorrow.day}"
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"scale_{i:04d}.py").write_text(DAG_FILE.format(i=i, start=start))


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants (from /proc): their own, and that of the
    children they reaped (the fork server reaps the parse children)."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime
        total += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    return total


def settle(pid: int, quiet: float = 0.10, longest: float = 60.0) -> None:
    """Wait (up to ``longest`` seconds) for a 5-second window under ``quiet`` of a core: the
    first schedule computation of every new DAG is work, not idling."""
    end = time.monotonic() + longest
    while time.monotonic() < end:
        before, at = cpu_seconds(pid), time.monotonic()
        time.sleep(5.0)
        if (cpu_seconds(pid) - before) / (time.monotonic() - at) < quiet:
            return


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def memory_mib(pid: int) -> tuple[float, float]:
    """RSS and PSS of one process, in MiB (smaps_rollup)."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if parts and parts[0] in ("Rss:", "Pss:"):
                values[parts[0]] = int(parts[1]) / 1024
    except OSError:
        pass
    return values.get("Rss:", 0.0), values.get("Pss:", 0.0)


def fresh_pg_database(server_url: str, name: str) -> str:
    admin = make_url(server_url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, name: str) -> None:
    admin = make_url(server_url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_scheduler(env: dict[str, str], log: IO[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(conveyor("scheduler"), env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_scheduler(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def count_listed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(dag.c.is_active.is_(True))).scalar_one())


def conveyor(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from conveyor.cli.main import main; main()", *args]


def measure(store: str, count: int, pg_url: str, limit: float, idle_seconds: float) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix=f"scale_dags_{store}_{count}_"))
    db_name = f"conveyor_bench_dags_{os.getpid()}_{count}"
    try:
        write_dags(tmp / "dags", count)
        if store == "postgres":
            url = fresh_pg_database(pg_url, db_name)
        else:
            url = f"sqlite:///{tmp / 'conveyor.db'}"
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(tmp / "home"),
            "CONVEYOR_DAGS_FOLDER": str(tmp / "dags"),
            "CONVEYOR_DATABASE_URL": url,
        }
        subprocess.run(conveyor("db", "migrate"), env=env, check=True, capture_output=True)
        engine = create_engine(url)
        log = (tmp / "scheduler.log").open("w")
        started = time.monotonic()
        proc = start_scheduler(env, log)
        try:
            listed_seconds, listed = None, 0
            while time.monotonic() - started < limit:
                time.sleep(0.25)
                cpu_to_list = cpu_seconds(proc.pid)
                listed = count_listed(engine)
                if listed >= count:
                    listed_seconds = time.monotonic() - started
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"the scheduler exited; see {tmp / 'scheduler.log'}")
            if listed < count:
                # Idle is measured with all N DAGs in: register the rest through the CLI
                # (it parses the folder itself), then start the scheduler again.
                stop_scheduler(proc)
                subprocess.run(conveyor("dags", "list"), env=env, check=True, capture_output=True)
                proc = start_scheduler(env, log)
            settle(proc.pid)
            before, at = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(idle_seconds)
            idle = (cpu_seconds(proc.pid) - before) / (time.monotonic() - at)
            rss, pss = memory_mib(proc.pid)
        finally:
            stop_scheduler(proc)
            log.close()
            engine.dispose()
        return Result(store, count, listed_seconds, listed, cpu_to_list, 100 * idle, rss, pss)
    finally:
        if store == "postgres":
            drop_pg_database(pg_url, db_name)
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(results: list[Result], limit: float) -> None:
    print(
        f"{'store':<9} {'DAGs':>5} {'all listed':>12} {'CPU to list':>12} {'idle CPU':>9} "
        f"{'RSS MiB':>8} {'PSS MiB':>8}"
    )
    for r in results:
        listed = (
            f"{r.listed_seconds:.1f} s"
            if r.listed_seconds is not None
            else f"{r.listed_count} in {limit:g} s"
        )
        print(
            f"{r.store:<9} {r.dags:>5} {listed:>12} {r.cpu_to_list:>10.1f} s "
            f"{r.idle_cpu_percent:>8.1f}% "
            f"{r.rss_mib:>8.0f} {r.pss_mib:>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,1000")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--limit", type=float, default=120.0, help="seconds to wait for listing")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for store in args.stores.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            result = measure(store, size, args.pg_url, args.limit, args.idle_seconds)
            results.append(result)
            print(f"# {json.dumps(asdict(result))}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print_table(results, args.limit)


if __name__ == "__main__":
    main()
