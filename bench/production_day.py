"""A production day, compressed: 1,000 DAGs of a team's shapes on cron-like schedules, run by
the embedded default (``conveyor standalone``: SQLite, local executor, triggerer and web in
one process) or the cluster (PostgreSQL, Celery on Redis, two schedulers, one worker at
concurrency 2, the triggerer, the web server), while a client polls the UI's DAG list and
grid and ``/api/v2`` as dashboards do (bench/README.md, "production_day.py").

The day's mix, at real speed (``DAY``): chains of 3 to 5 tasks every minute, 5 and 15
minutes, hourly and daily; ten hourly mapped fan-outs of 200 at the top of each hour; sensors
every 5 minutes in reschedule and deferrable mode; 2 % of tries fail once and retry. About
1,040,000 task instances a day. ``--speed N`` divides every period by N (a day in 24/N hours),
so the target rate is N times 12 tasks/s; each DAG is its own file.

Every ``--interval`` seconds the bench samples each process (CPU, RSS and PSS with its
children) and, every minute, prints: tries finished per second against the target, the
schedule delay (a scheduled run's interval end to its first try's start) p50/p99, the hop
(a chain task's start after its upstream's end) p50/p99, the runs waiting, the store's size
and task instances held, the log folder's size, and the UI/API answers' p50/max. With
``--retention M`` (minutes, default 5) it runs ``conveyor db clean --older-than Mm`` every
``--clean-every`` seconds, so that the store and the logs stop growing after the window;
``--retention 0`` keeps everything and reports the growth per task instance. At the end:
the table, each process's memory slope per hour over the run's second half, and on
PostgreSQL the slowest statements (pg_stat_statements, where the server preloads it).

    .venv/bin/python bench/production_day.py --minutes 3                 # short form
    .venv/bin/python bench/production_day.py --minutes 20 --speed 8
    .venv/bin/python bench/production_day.py --mode cluster --minutes 20 \\
        --pg-url postgresql://postgres@127.0.0.1:5432/conveyor_bench_prodday --redis-db 9

Cluster mode drops and creates the database of ``--pg-url`` and flushes ``--redis-db``.
Everything started is stopped at the end (SIGTERM, then SIGKILL after 30 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from soak import free_port, slope_per_hour
from sqlalchemy import func, select

from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance, task_try

CONVEYOR = [sys.executable, "-c", "import sys; from conveyor.cli.main import main; main()"]
PASSWORD = "production-day-bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Shape:
    """DAGs of one kind: how many, their period at real speed, and their tasks."""

    name: str
    count: int
    period: timedelta
    tasks: int  # chain length; a fan-out's mapped width; a sensor DAG's tasks after the sensor
    kind: str = "chain"  # chain | fanout | reschedule | deferrable

    def tries_a_day(self) -> float:
        per_run = self.tasks + 2 if self.kind == "fanout" else self.tasks
        if self.kind in ("reschedule", "deferrable"):
            per_run = self.tasks + 1
        return self.count * per_run * timedelta(days=1) / self.period


DAY = [
    Shape("minutely", 120, timedelta(minutes=1), 4),
    Shape("five", 200, timedelta(minutes=5), 3),
    Shape("quarter", 300, timedelta(minutes=15), 3),
    Shape("hourly", 300, timedelta(hours=1), 5),
    Shape("daily", 55, timedelta(days=1), 3),
    Shape("wide", 10, timedelta(hours=1), 200, "fanout"),
    Shape("poke", 10, timedelta(minutes=5), 1, "reschedule"),
    Shape("defer", 5, timedelta(minutes=5), 1, "deferrable"),
]

HEADER = '''\
"""Production-day bench DAG: {shape}, one run every {period_s:g} s (a {real} schedule at
{speed:g}x)."""
from datetime import datetime, timedelta, timezone
import zlib

from conveyor import DAG, PythonOperator
from conveyor.sensors import TimeDeltaSensor, TimeDeltaSensorAsync


def work(*_, ti=None, **__):  # a mapped try's value comes by position
    # 2 % of tasks fail their first try and succeed on the retry.
    key = f"{{ti.dag_id}}/{{ti.run_id}}/{{ti.task_id}}/{{ti.map_index}}".encode()
    if ti.try_number == 1 and zlib.crc32(key) % 50 == 0:
        raise RuntimeError("a first try that fails")


with DAG(
    "{dag_id}",
    schedule=timedelta(seconds={period_s!r}),
    start_date=datetime.fromisoformat("{start}"),
    catchup=False,
    max_active_runs=4,
    default_args={{"retries": 1, "retry_delay": timedelta(seconds=1)}},
):
'''

CHAIN = """\
    previous = None
    for n in range({tasks}):
        step = PythonOperator(task_id=f"t{{n}}", python_callable=work)
        if previous is not None:
            previous >> step
        previous = step
"""

FANOUT = """\
    start = PythonOperator(task_id="t0", python_callable=work)
    wide = PythonOperator.partial(task_id="t1", python_callable=work).expand(
        op_args=[[n] for n in range({tasks})]
    )
    end = PythonOperator(task_id="t2", python_callable=work)
    start >> wide >> end
"""

SENSOR = """\
    wait = {sensor}(task_id="t0", delta=timedelta(seconds={wait_s!r}){mode})
    wait >> PythonOperator(task_id="t1", python_callable=work)
"""


def write_dags(folder: Path, speed: float, start: datetime, midnight: bool = False) -> float:
    """The day's DAG files; the task instances a compressed day makes per second. Each DAG's
    first run is due one period after ``start``, or, from ``midnight``, at ``start`` itself,
    as every cron schedule fires at midnight: then every DAG has run once (its version
    parsed, cached and run) within the first burst, before the rest of the day is measured."""
    folder.mkdir(parents=True, exist_ok=True)
    for shape in DAY:
        period_s = round(shape.period.total_seconds() / speed, 3)
        # A DAG's runs are due at its start_date plus whole periods (catchup off).
        dag_start = start - timedelta(seconds=period_s) if midnight else start
        for n in range(shape.count):
            dag_id = f"{shape.name}_{n:03d}"
            text = HEADER.format(
                shape=shape.name,
                period_s=period_s,
                real=f"{shape.period}",
                speed=speed,
                dag_id=dag_id,
                start=dag_start.isoformat(),
            )
            if shape.kind == "chain":
                text += CHAIN.format(tasks=shape.tasks)
            elif shape.kind == "fanout":
                text += FANOUT.format(tasks=shape.tasks)
            else:
                deferred = shape.kind == "deferrable"
                text += SENSOR.format(
                    sensor="TimeDeltaSensorAsync" if deferred else "TimeDeltaSensor",
                    wait_s=round(period_s / 10, 3),  # a tenth of the period
                    mode="" if deferred else ', mode="reschedule", poke_interval=1',
                )
            (folder / f"{dag_id}.py").write_text(text)
    return sum(s.tries_a_day() for s in DAY) * speed / 86400


# ---- processes ------------------------------------------------------------------------


@dataclass
class Cluster:
    mode: str
    root: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    port: int = 0

    def conveyor(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [*CONVEYOR, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise SystemExit(f"conveyor {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self, label: str, *args: str) -> None:
        log = (self.root / f"{label}.log").open("ab")
        self.processes[label] = subprocess.Popen(
            [*CONVEYOR, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def stop(self) -> dict[str, int | None]:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline, codes = time.monotonic() + 30, {}
        for label, proc in self.processes.items():
            try:
                codes[label] = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[label] = None
        return codes


def make_cluster(args: argparse.Namespace, root: Path) -> Cluster:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW_"))}
    env.update(
        CONVEYOR_HOME=str(root / "home"),
        CONVEYOR_DAGS_FOLDER=str(root / "dags"),
        CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION="false",
    )
    if args.tracemalloc:
        env["CONVEYOR_SCHEDULER_TRACEMALLOC"] = "true"
    if args.mode == "cluster":
        env.update(
            CONVEYOR_DATABASE_URL=args.pg_url,
            CONVEYOR_EXECUTOR="celery",
            CONVEYOR_BROKER_URL=f"{args.redis}/{args.redis_db}",
            # Airflow's default: room under it for the first tries of the runs a mark makes
            # due while the worker's two slots are busy (Conveyor's default, 8, is sized for
            # the embedded default's runners; docs/deploy.md).
            CONVEYOR_PARALLELISM="32",
        )
    for setting in args.setting:
        name, _, value = setting.partition("=")
        env[f"CONVEYOR_{name.upper()}"] = value
    return Cluster(args.mode, root, env, port=free_port())


def reset_services(args: argparse.Namespace) -> None:
    import psycopg
    import redis

    base, name = args.pg_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(f"{args.redis}/{args.redis_db}").flushdb()


def start_everything(cluster: Cluster) -> None:
    cluster.conveyor("users", "create", "bench", "--role", "op", "--password", PASSWORD)
    port = str(cluster.port)
    if cluster.mode == "embedded":
        cluster.start("standalone", "standalone", "--port", port, "--unpaused-at-creation")
        return
    cluster.start("scheduler1", "scheduler")
    cluster.start("scheduler2", "scheduler")
    cluster.start("worker", "worker", "-c", "2", "-n", "prodday@%h")
    cluster.start("triggerer", "triggerer")
    cluster.start("web", "web", "--host", "127.0.0.1", "--port", port)


# ---- process figures ------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children[int(fields[1])].append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        found.append(current := stack.pop())
        stack.extend(children.get(current, []))
    return found


def _rollup(pid: int) -> tuple[int, int]:
    """RSS and PSS in KiB (0 once the process ended)."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


@dataclass
class ProcessSample:
    at: float
    cpu_s: float  # the tree's CPU: alive processes' own, and what the main process reaped
    rss_kib: int  # the main process
    pss_kib: int  # the main process
    tree_pss_kib: int  # with its children (runners, pool processes, parse server)


def sample_process(pid: int, at: float) -> ProcessSample | None:
    main = _stat(pid)
    if main is None:
        return None
    cpu = sum(int(f) for f in main[11:15]) / CLOCK_TICKS
    tree_pss = 0
    for child in _tree(pid):
        if child != pid and (fields := _stat(child)) is not None:
            cpu += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
        tree_pss += _rollup(child)[1]
    rss, pss = _rollup(pid)
    return ProcessSample(at, cpu, rss, pss, tree_pss)


# ---- the dashboard client ---------------------------------------------------------------


class Dashboards(threading.Thread):
    """Polls what a team's dashboards poll, one request after another, every ``every`` s:
    the UI's DAG list and a grid (the JSON they draw from), and /api/v2's DAGs and runs."""

    def __init__(self, base: str, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.every = base, every
        self.times: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
        self.stopping = threading.Event()

    def _clients(self) -> tuple[httpx.Client, httpx.Client]:
        ui = httpx.Client(base_url=self.base, timeout=60)
        form = ui.get("/login").text
        token = form.split('name="csrf_token" value="')[1].split('"')[0]
        ui.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        reply = httpx.post(
            f"{self.base}/auth/token", json={"username": "bench", "password": PASSWORD}
        )
        reply.raise_for_status()
        headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        return ui, httpx.Client(base_url=self.base, timeout=60, headers=headers)

    def run(self) -> None:
        while True:  # a web server too busy to answer the login is retried, not given up
            try:
                ui, api = self._clients()
                break
            except (httpx.HTTPError, IndexError) as exc:
                self.times["login"].append((time.monotonic(), 60.0, 0))
                print(f"dashboards: login failed ({exc!r}); again in {self.every:g} s")
                if self.stopping.wait(self.every):
                    return
        paths = [
            ("UI DAG list", ui, "/api/v1/dags?limit=50"),
            ("UI DAG list, failed", ui, "/api/v1/dags?limit=50&state=failed"),
            ("UI grid", ui, "/api/v1/dags/minutely_000/grid"),
            ("UI grid of a fan-out", ui, "/api/v1/dags/wide_000/grid"),
            ("v2 DAGs", api, "/api/v2/dags?limit=50"),
            ("v2 runs", api, "/api/v2/dags/~/dagRuns?limit=50&order_by=-start_date"),
        ]
        while not self.stopping.wait(self.every):
            for label, client, path in paths:
                started = time.monotonic()
                try:
                    status = client.get(path).status_code
                except httpx.HTTPError:
                    status = 0
                self.times[label].append((started, time.monotonic() - started, status))


# ---- the store's figures ------------------------------------------------------------------


def quantiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class Window:
    finished: int
    delays: list[float]
    hops: list[float]
    waiting_runs: int
    tis_held: int
    store_bytes: int
    log_bytes: int
    cpu_s: float = 0.0  # Conveyor's processes (with their children) in the window


class StoreWatch:
    """Reads a minute's tries, delays and hops from the store; remembers the chain tasks'
    ends a while, to measure the hop of a task whose upstream ended in the minute before."""

    def __init__(self, url: str, home: Path, mode: str) -> None:
        self.store, self.home, self.mode = Store(url), home, mode
        self.ends: dict[tuple[int, str], datetime] = {}

    def window(self, since: datetime, until: datetime) -> Window:
        tries = (
            select(
                task_instance.c.run_pk,
                task_instance.c.task_id,
                task_instance.c.map_index,
                task_try.c.try_number,
                task_try.c.start_date,
                task_try.c.end_date,
                dag_run.c.run_type,
                dag_run.c.data_interval_end,
            )
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .join(dag_run, dag_run.c.id == task_instance.c.run_pk)
            .where(task_try.c.end_date >= since, task_try.c.end_date < until)
        )
        with self.store.read() as conn:
            rows = conn.execute(tries).all()
            waiting = conn.execute(
                select(func.count()).where(dag_run.c.state.in_(("queued", "running")))
            ).scalar_one()
            held = conn.execute(select(func.count()).select_from(task_instance)).scalar_one()
        delays, hops = [], []
        # In the order the dispatches ended: a task's upstream's last dispatch (a sensor's
        # last poke, a deferral's resumption) is remembered before the task's start is read.
        by_end = sorted(rows, key=lambda row: row.end_date)
        for run_pk, task_id, map_index, try_number, start, end, run_type, interval_end in by_end:
            if start is None:
                continue
            if map_index < 0:  # every dispatch: the hop counts from the upstream's last one
                self.ends[(run_pk, task_id)] = end
            if try_number != 1:
                continue
            if task_id == "t0" and run_type == "scheduled" and interval_end is not None:
                delays.append((start - interval_end).total_seconds())
            upstream = self.ends.get((run_pk, f"t{int(task_id[1:]) - 1}"))
            if task_id != "t0" and map_index < 0 and upstream is not None:
                hops.append((start - upstream).total_seconds())
        cutoff = until - timedelta(minutes=5)
        self.ends = {k: v for k, v in self.ends.items() if v >= cutoff}
        return Window(len(rows), delays, hops, waiting, held, self.size(), self.log_size())

    def autovacuum_off(self) -> bool:
        with self.store.read() as conn:
            return conn.exec_driver_sql("SHOW autovacuum").scalar_one() == "off"

    def vacuum(self) -> None:
        """What autovacuum would do after ``db clean``: the space of the deleted rows made
        reusable (a server that has autovacuum off grows by every row ever written)."""
        autocommit = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with autocommit as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")

    def size(self) -> int:
        if self.mode == "embedded":
            base = self.store.engine.url.database or ""
            return sum(os.path.getsize(p) for p in (base, f"{base}-wal") if os.path.exists(p))
        with self.store.read() as conn:
            return int(
                conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
            )

    def log_size(self) -> int:
        total = 0
        for folder, _, files in os.walk(self.home / "logs"):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(folder, name)).st_blocks * 512
        return total

    def slowest(self, limit: int = 8) -> list[str]:
        """The statements with the most total time (pg_stat_statements), where available."""
        if self.mode == "embedded":
            return []
        query = (
            "SELECT calls, round(mean_exec_time::numeric, 2), round(total_exec_time::numeric), "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            f"ORDER BY total_exec_time DESC LIMIT {limit}"
        )
        try:
            with self.store.read() as conn:
                rows = conn.exec_driver_sql(query).all()
        except Exception as exc:  # the extension is not loaded on this server
            return [f"pg_stat_statements not available: {str(exc).splitlines()[0]}"]
        return [f"{c:>8} calls {m:>8} ms mean {t:>8} ms total  {q}" for c, m, t, q in rows]


# ---- the run ------------------------------------------------------------------------------


def mib(kib: float) -> float:
    return kib / 1024


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix=f"conveyor-prodday-{args.mode}-", dir=args.under))
    start = (datetime.now(UTC) + timedelta(seconds=args.warmup)).replace(microsecond=0)
    target = write_dags(root / "dags", args.speed, start, args.from_midnight)
    if args.from_midnight:
        due = "every DAG's first run due then, as at midnight"
    else:
        due = (
            "their first runs due one period later (the first at "
            f"{start + min(s.period for s in DAY) / args.speed:%H:%M:%S})"
        )
    print(
        f"{args.mode}: 1,000 DAGs in {root / 'dags'}; target {target:.1f} tasks/s "
        f"({target * 86400 / args.speed:,.0f} a real day at {args.speed:g}x); the day starts "
        f"at {start:%H:%M:%S}, {due}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if args.mode == "cluster":
        reset_services(args)
    cluster = make_cluster(args, root)
    parse_started = time.monotonic()
    (root / "home").mkdir(parents=True, exist_ok=True)
    cluster.conveyor("db", "migrate")
    # The 1,000 files parsed before the day, four at once (a loaded machine shares its cores
    # by process).
    cluster.env["CONVEYOR_DAG_PARSE_PROCESSES"] = "4"
    cluster.conveyor("dags", "list", "-o", "plain")
    del cluster.env["CONVEYOR_DAG_PARSE_PROCESSES"]
    print(f"parsed in {time.monotonic() - parse_started:.0f} s", flush=True)
    base = f"http://127.0.0.1:{cluster.port}"
    samples: dict[str, list[ProcessSample]] = defaultdict(list)
    windows: list[tuple[float, Window, dict[str, tuple[float, float, int]]]] = []
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    dashboards = Dashboards(base, args.poll_every)
    try:
        start_everything(cluster)
        _wait_for_web(base, cluster)
        url = (
            cluster.env.get("CONVEYOR_DATABASE_URL") or f"sqlite:///{root / 'home' / 'conveyor.db'}"
        )
        watch = StoreWatch(url, root / "home", args.mode)
        if args.mode == "cluster":
            _stat_statements(watch)
        retention = Retention(cluster, watch, args.retention, args.clean_every)
        while datetime.now(UTC) < start and not stopping.is_set():
            time.sleep(0.5)
        dashboards.start()
        began = time.monotonic()
        end = began + args.minutes * 60
        last_minute = datetime.now(UTC)
        last_trace = began
        cpu_before = 0.0
        print(_minute_heading(), flush=True)
        while not stopping.is_set() and time.monotonic() < end:
            stopping.wait(args.interval)
            now = time.monotonic()
            for label, proc in cluster.processes.items():
                if label == "db clean":  # short-lived: its CPU is not counted
                    continue
                if (found := sample_process(proc.pid, now - began)) is not None:
                    samples[label].append(found)
            retention.step(now)
            if args.tracemalloc and now - last_trace >= args.tracemalloc * 60:
                _report_memory(cluster)
                last_trace = now
            if datetime.now(UTC) - last_minute >= timedelta(minutes=1):
                until = datetime.now(UTC)
                found = watch.window(last_minute, until)
                cpu_now = sum(found_samples[-1].cpu_s for found_samples in samples.values())
                found.cpu_s, cpu_before = cpu_now - cpu_before, cpu_now
                seconds = (until - last_minute).total_seconds()
                answers = _answers(dashboards, now - seconds, now)
                windows.append((now - began, found, answers))
                print(_minute_line(now - began, found, seconds, target, answers), flush=True)
                last_minute = until
        dashboards.stopping.set()
        report(args, target, windows, samples, watch, cluster)
    finally:
        codes = cluster.stop()
        print(f"stopped: {json.dumps(codes)} (None: killed after 30 s); home {root}")


class Retention:
    """``db clean --older-than Mm`` every ``every`` seconds, in a process of its own as cron
    would start it (the sampling goes on meanwhile); on a PostgreSQL server with autovacuum
    off (this machine's CI settings), a VACUUM after each, as autovacuum would run one."""

    def __init__(self, cluster: Cluster, watch: StoreWatch, minutes: int, every: float) -> None:
        self.cluster, self.watch, self.minutes, self.every = cluster, watch, minutes, every
        self.last = time.monotonic()
        self.vacuums = bool(minutes) and watch.mode == "cluster" and watch.autovacuum_off()
        self.unvacuumed = False
        if self.vacuums:
            print("autovacuum is off on this server: the bench vacuums after each db clean")

    def step(self, now: float) -> None:
        cleaning = self.cluster.processes.get("db clean")
        if cleaning is not None and cleaning.poll() is None:
            return
        if self.unvacuumed:
            self.watch.vacuum()
            self.unvacuumed = False
        if self.minutes and now - self.last >= self.every:
            self.cluster.start("db clean", "db", "clean", "--older-than", f"{self.minutes}m")
            self.last = now
            self.unvacuumed = self.vacuums


def _report_memory(cluster: Cluster) -> None:
    """Ask each scheduler to log the lines holding and gaining memory (its own log)."""
    for label in ("standalone", "scheduler1", "scheduler2"):
        proc = cluster.processes.get(label)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGUSR1)


def _wait_for_web(base: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for label, proc in cluster.processes.items():
            if proc.poll() is not None:
                raise SystemExit(f"{label} ended: see {cluster.root / (label + '.log')}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the web server did not answer within 300 s")


def _stat_statements(watch: StoreWatch) -> None:
    try:
        with watch.store.write() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.exec_driver_sql("SELECT pg_stat_statements_reset()")
    except Exception as exc:  # the extension is not loaded on this server
        print(f"pg_stat_statements: not available ({str(exc).splitlines()[0]})")


def _answers(
    dashboards: Dashboards, since: float, until: float
) -> dict[str, tuple[float, float, int]]:
    """Per path in the window: p50 and max seconds, and the answers that were not 200."""
    found = {}
    for label, times in dashboards.times.items():
        took = [t for at, t, _ in times if since <= at < until]
        bad = sum(1 for at, _, status in times if since <= at < until and status != 200)
        if took:
            found[label] = (statistics.median(took), max(took), bad)
    return found


def _minute_heading() -> str:
    return (
        f"{'min':>4} {'tasks/s':>8} {'of target':>9} {'delay p50/p99 s':>16} "
        f"{'hop p50/p99 ms':>15} {'waiting':>7} {'TIs held':>9} {'store MiB':>9} "
        f"{'logs MiB':>8} {'CPU %':>6} {'ms/task':>7}  UI/API p50/max ms"
    )


def _minute_line(
    elapsed: float, w: Window, seconds: float, target: float, answers: dict[str, Any]
) -> str:
    rate = w.finished / seconds
    d50, d99 = quantiles(w.delays)
    h50, h99 = quantiles(w.hops)
    shown = ", ".join(
        f"{k.split(',')[0] if 'list' not in k else k}: {a * 1000:.0f}/{b * 1000:.0f}"
        + (f" ({bad} not 200)" if bad else "")
        for k, (a, b, bad) in answers.items()
    )
    return (
        f"{elapsed / 60:4.1f} {rate:8.1f} {rate / target:9.2f} {d50:7.2f}/{d99:<8.2f} "
        f"{h50 * 1000:6.0f}/{h99 * 1000:<8.0f} {w.waiting_runs:7} {w.tis_held:9} "
        f"{mib(w.store_bytes / 1024):9.1f} {mib(w.log_bytes / 1024):8.1f} "
        f"{w.cpu_s / seconds * 100:6.0f} {w.cpu_s / max(w.finished, 1) * 1000:7.1f}  {shown}"
    )


def report(
    args: argparse.Namespace,
    target: float,
    windows: list[tuple[float, Window, dict[str, tuple[float, float, int]]]],
    samples: dict[str, list[ProcessSample]],
    watch: StoreWatch,
    cluster: Cluster,
) -> None:
    if not windows:
        print("no full minute measured")
        return
    steady = windows[1:] or windows  # the first minute warms up
    finished = sum(w.finished for _, w, _ in steady)
    seconds = 60 * len(steady)
    delays = [d for _, w, _ in steady for d in w.delays]
    hops = [h for _, w, _ in steady for h in w.hops]
    d50, d99 = quantiles(delays)
    h50, h99 = quantiles(hops)
    last = windows[-1][1]
    print(
        f"\n== {args.mode}, {args.minutes:g} min at {args.speed:g}x, retention "
        f"{args.retention or 'off'} min, load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        f"tasks finished: {finished / seconds:.1f}/s against {target:.1f}/s "
        f"({finished / seconds / target:.2f} of the target), minutes 2 to {len(windows)}"
    )
    cpu = sum(w.cpu_s for _, w, _ in steady)
    print(
        f"CPU of Conveyor's processes: {cpu / seconds * 100:.0f} % of a core, "
        f"{cpu / max(finished, 1) * 1000:.1f} ms per task finished (at that cost two free "
        f"cores would finish {2 / max(cpu / max(finished, 1), 1e-9):.0f} tasks/s)"
    )
    print(f"schedule delay: p50 {d50:.2f} s, p99 {d99:.2f} s ({len(delays)} runs)")
    print(f"hop: p50 {h50 * 1000:.0f} ms, p99 {h99 * 1000:.0f} ms ({len(hops)} hops)")
    held = max(last.tis_held, 1)
    print(
        f"store: {mib(last.store_bytes / 1024):.1f} MiB holding {last.tis_held:,} task "
        f"instances ({last.store_bytes / held * 1000 / 1024 / 1024:.2f} MiB per 1,000); "
        f"per minute: " + ", ".join(f"{mib(w.store_bytes / 1024):.0f}" for _, w, _ in windows)
    )
    print(
        "log folder MiB per minute: "
        + ", ".join(f"{mib(w.log_bytes / 1024):.0f}" for _, w, _ in windows)
    )
    print("runs waiting per minute: " + ", ".join(str(w.waiting_runs) for _, w, _ in windows))
    print("\nUI/API answers, each minute's worst (s): p50 and p99 of them, max, not 200")
    for label, times in sorted(_all_times(windows).items()):
        p50, p99 = quantiles([t for t, _ in times])
        bad = sum(b for _, b in times)
        print(f"  {label:<22} {p50:.3f} {p99:.3f} {max(t for t, _ in times):.3f} {bad}")
    print(
        "\nprocesses: CPU (% of a core, over the run), RSS and PSS (MiB, main process) "
        "first/last, tree PSS last, PSS and RSS slopes over the second half (MiB/h and %/h; "
        "RSS is what other processes sharing pages cannot move)"
    )
    for label, found in samples.items():
        if len(found) < 2:
            continue
        cpu = (found[-1].cpu_s - found[0].cpu_s) / max(found[-1].at - found[0].at, 1) * 100
        half = found[len(found) // 2 :]
        slope = slope_per_hour([(s.at, mib(s.pss_kib)) for s in half])
        mean = statistics.mean(mib(s.pss_kib) for s in half)
        tree_slope = slope_per_hour([(s.at, mib(s.tree_pss_kib)) for s in half])
        rss_slope = slope_per_hour([(s.at, mib(s.rss_kib)) for s in half])
        rss_mean = statistics.mean(mib(s.rss_kib) for s in half)
        print(
            f"  {label:<11} {cpu:5.1f} %  RSS {mib(found[0].rss_kib):.0f}->"
            f"{mib(found[-1].rss_kib):.0f}  PSS {mib(found[0].pss_kib):.0f}->"
            f"{mib(found[-1].pss_kib):.0f}  tree {mib(found[-1].tree_pss_kib):.0f}  "
            f"slope {slope:+.1f} MiB/h ({slope / mean * 100:+.1f} %/h), tree "
            f"{tree_slope:+.1f} MiB/h, RSS {rss_slope:+.1f} MiB/h "
            f"({rss_slope / rss_mean * 100:+.1f} %/h)"
        )
    print("\nRSS (MiB, main process) every ten minutes")
    for label, found in samples.items():
        start = found[0].at if found else 0
        marks: dict[int, float] = {}
        for sample in found:
            marks.setdefault(int((sample.at - start) // 600), mib(sample.rss_kib))
        print(f"  {label:<11} " + ", ".join(f"{rss:.0f}" for _, rss in sorted(marks.items())))
    for line in watch.slowest():
        print(f"  {line}")


def _all_times(
    windows: list[tuple[float, Window, dict[str, tuple[float, float, int]]]],
) -> dict[str, list[tuple[float, int]]]:
    """Each path's per-minute maxima and failures: the dashboards' worst answers."""
    found: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for _, _, answers in windows:
        for label, (_, worst, bad) in answers.items():
            found[label].append((worst, bad))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "cluster"), default="embedded")
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--speed", type=float, default=8, help="the day compressed N times")
    parser.add_argument("--retention", type=int, default=5, help="minutes; 0: keep all")
    parser.add_argument("--clean-every", type=float, default=60, help="seconds")
    parser.add_argument("--interval", type=float, default=5, help="seconds between samples")
    parser.add_argument("--poll-every", type=float, default=5, help="dashboards, seconds")
    parser.add_argument(
        "--warmup", type=float, default=240, help="seconds to the first runs (the parse first)"
    )
    parser.add_argument(
        "--from-midnight",
        action="store_true",
        help="every DAG's first run due at the start, as every cron schedule at midnight",
    )
    parser.add_argument(
        "--tracemalloc",
        type=float,
        default=0,
        help="minutes: trace the schedulers' memory and log what grew every that often "
        "(SIGUSR1, into the scheduler's log in the run's folder); 0: off",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of every process started (worker_streak_seconds=0 is "
        "CONVEYOR_WORKER_STREAK_SECONDS=0); repeatable",
    )
    parser.add_argument("--under", type=Path, default=None, help="folder for the run's home")
    parser.add_argument(
        "--pg-url", default="postgresql://postgres@127.0.0.1:5432/conveyor_bench_prodday"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-db", type=int, default=9)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
