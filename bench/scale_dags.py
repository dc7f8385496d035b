"""Many DAG files: how long the scheduler takes to register them, what it costs idle, and
(``--workload``) the tasks/s of their runs against the same runs over few DAGs.

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

``--workload``: throughput with many DAGs against the same work over few. Two layouts run the
same number of 3-task chain runs (no-op ``PythonOperator`` tasks by default, ``--operator
bash`` for ``BashOperator("true")``) through a real ``conveyor scheduler`` (local executor):

- ``many``: ``--dags`` files (default 1,000), each ``@daily`` from 2024-01-01 with
  ``catchup=False``, so exactly one scheduled run of each is due when the scheduler starts
  (yesterday's interval; the next is due at midnight UTC), plus ``--manual`` (200) manual runs,
  one each on DAGs spread evenly over the files;
- ``few``: ``--few-dags`` files (10) without a schedule, each with ``--dags / --few-dags``
  manual runs standing in for the scheduled ones, plus the same ``--manual`` runs spread over
  them. Their ``max_active_runs`` is raised to the runs each holds, so that the ten DAGs run
  their runs as concurrently as the many do (at the default of 16 the comparison would
  measure ``max_active_runs``, not scale).

Both get ``(--dags + --manual) * 3`` tasks. The files are registered and the manual runs
triggered (through the store's trigger function) before the scheduler starts; the scheduled
runs of ``many`` are the scheduler's to create. tasks/s is tasks / (first try start .. last
try end) read from the store; ``wall`` is the scheduler's start to all runs finished. The
layouts run few, many, few, many... (``--repeat``) so load noise hits both, and the ratio
many / few is printed per round.

    .venv/bin/python bench/scale_dags.py --workload                       # 1,000 against 10
    .venv/bin/python bench/scale_dags.py --workload --repeat 2 --stores sqlite,postgres
    .venv/bin/python bench/scale_dags.py --workload --dags 50 --few-dags 5 --manual 20

Its scratch PostgreSQL databases are named ``conveyor_bench_dagsrun_*``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import psycopg
from local_executor import run_home
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url

from conveyor.states import RunState
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_try
from conveyor.store.trigger import trigger_run

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
    with run_home(f"scale_dags_{store}_{count}_") as home:
        return _measure(Path(home), store, count, pg_url, limit, idle_seconds)


def _measure(
    tmp: Path, store: str, count: int, pg_url: str, limit: float, idle_seconds: float
) -> Result:
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
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
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


# -- --workload: the same runs over many DAGs and over few -----------------------------------

WORKLOAD_DAG = '''\
"""Benchmark DAG {dag_id}: three {operator} tasks in a line."""
from datetime import datetime

from conveyor import DAG, BashOperator, PythonOperator


def noop():
    return None


with DAG(
    "{dag_id}",
    schedule={schedule},
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs={max_active_runs},
):
    a = {task_a}
    b = {task_b}
    c = {task_c}
    a >> b >> c
'''

TASKS = {
    "python": 'PythonOperator(task_id="{t}", python_callable=noop)',
    "bash": 'BashOperator(task_id="{t}", bash_command="true")',
}

FINISHED_RUNS = (RunState.SUCCESS.value, RunState.FAILED.value)


@dataclass
class Workload:
    """One layout of the same work: which DAG files, and how many manual runs of each."""

    layout: str  # "many" or "few"
    dag_ids: list[str]
    scheduled: bool  # "@daily" (one run due at start) or no schedule
    manual_runs: dict[str, int]  # dag_id -> manual runs triggered before the scheduler starts
    max_active_runs: int

    @property
    def runs(self) -> int:
        return sum(self.manual_runs.values()) + (len(self.dag_ids) if self.scheduled else 0)


@dataclass
class WorkloadResult:
    store: str
    layout: str
    round: int
    dags: int
    runs: int
    tasks: int  # tries that ran
    failed_runs: int
    tasks_per_second: float  # tasks / (first try start .. last try end)
    tries_seconds: float
    first_try_after: float  # the scheduler's start to the first try's start
    wall_seconds: float  # the scheduler's start to every run finished
    scheduler_cpu_seconds: float  # the scheduler and its children (runners, parsers)


def spread(dag_ids: list[str], count: int) -> dict[str, int]:
    """``count`` runs over the DAGs, evenly: every k-th DAG gets one when there are more DAGs
    than runs, each DAG an equal share otherwise."""
    runs = dict.fromkeys(dag_ids, 0)
    for i in range(count):
        runs[dag_ids[i * len(dag_ids) // count]] += 1
    return runs


def many_dags(dags: int, manual: int) -> Workload:
    dag_ids = [f"many_{i:04d}" for i in range(dags)]
    return Workload("many", dag_ids, True, spread(dag_ids, manual), max_active_runs=16)


def few_dags(dags: int, few: int, manual: int) -> Workload:
    """``dags`` runs standing in for the scheduled ones, plus ``manual``, over ``few`` DAGs."""
    dag_ids = [f"few_{i:02d}" for i in range(few)]
    stand_ins, extra = spread(dag_ids, dags), spread(dag_ids, manual)
    runs = {d: stand_ins[d] + extra[d] for d in dag_ids}
    # Room for all of a DAG's runs at once, as the many DAGs have: else this measures
    # max_active_runs, not the number of DAGs.
    return Workload("few", dag_ids, False, runs, max_active_runs=max(runs.values()))


def write_workload(folder: Path, workload: Workload, operator: str) -> None:
    folder.mkdir(parents=True)
    task = TASKS[operator]
    for dag_id in workload.dag_ids:
        source = WORKLOAD_DAG.format(
            dag_id=dag_id,
            operator=operator,
            schedule='"@daily"' if workload.scheduled else "None",
            max_active_runs=workload.max_active_runs,
            task_a=task.format(t="a"),
            task_b=task.format(t="b"),
            task_c=task.format(t="c"),
        )
        (folder / f"{dag_id}.py").write_text(source)


def register_dags(env: dict[str, str], engine: Engine, expected: int) -> None:
    """Parse and register the folder before the scheduler starts (``conveyor dags list``
    parses it itself), so both layouts start with their DAGs in the store."""
    subprocess.run(conveyor("dags", "list"), env=env, check=True, capture_output=True)
    listed = count_listed(engine)
    if listed != expected:
        raise RuntimeError(f"{listed} of {expected} DAGs registered")


def trigger_manual_runs(url: str, workload: Workload) -> None:
    """The manual runs, interleaved over the DAGs, each at a logical date of its own."""
    store = Store(url)
    base = datetime.now(UTC)
    left = dict(workload.manual_runs)
    made = 0
    try:
        while any(left.values()):
            for dag_id in [d for d, n in left.items() if n]:
                with store.write() as conn:
                    trigger_run(
                        conn,
                        dag_id,
                        created_by="bench",
                        logical_date=base + timedelta(milliseconds=made),
                    )
                left[dag_id] -= 1
                made += 1
    finally:
        store.dispose()


def unfinished_runs(engine: Engine) -> tuple[int, int]:
    """Runs not yet finished, and all runs."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(dag_run)).scalar_one()
        left = conn.execute(
            select(func.count()).where(dag_run.c.state.not_in(FINISHED_RUNS))
        ).scalar_one()
    return int(left), int(total)


def wait_for_runs(
    proc: subprocess.Popen[bytes], engine: Engine, expected: int, timeout: float, log: Path
) -> None:
    """Until every expected run exists and has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left, total = unfinished_runs(engine)
        if total >= expected and left == 0:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"the scheduler exited; see {log}")
        time.sleep(0.25)
    raise RuntimeError(f"{left} of {total} runs unfinished after {timeout:g} s; see {log}")


def read_tries(engine: Engine) -> tuple[int, datetime, datetime]:
    """How many tries ran, the first one's start and the last one's end."""
    with engine.connect() as conn:
        row = conn.execute(
            select(func.count(), func.min(task_try.c.start_date), func.max(task_try.c.end_date))
        ).one()
    count, first, last = row
    return int(count), _utc(first), _utc(last)


def count_failed_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(dag_run.c.state == RunState.FAILED.value)
            ).scalar_one()
        )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes from aggregates: they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_workload(
    store: str, workload: Workload, round_: int, args: argparse.Namespace
) -> WorkloadResult:
    """One layout on a fresh store: register, trigger, run the scheduler until all finished.
    Its folder (thousands of logs) is removed when the benchmark ends, not before the next
    layout runs: see ``run_home``."""
    with run_home(f"scale_dags_{workload.layout}_") as home:
        return _run_workload(Path(home), store, workload, round_, args)


def _run_workload(
    tmp: Path, store: str, workload: Workload, round_: int, args: argparse.Namespace
) -> WorkloadResult:
    db_name = f"conveyor_bench_dagsrun_{os.getpid()}_{workload.layout}_{round_}"
    try:
        write_workload(tmp / "dags", workload, args.operator)
        url = (
            fresh_pg_database(args.pg_url, db_name)
            if store == "postgres"
            else f"sqlite:///{tmp / 'conveyor.db'}"
        )
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(tmp / "home"),
            "CONVEYOR_DAGS_FOLDER": str(tmp / "dags"),
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
            "CONVEYOR_DATABASE_URL": url,
            "CONVEYOR_EXECUTOR": "local",
            "CONVEYOR_PARALLELISM": str(args.parallelism),
        }
        subprocess.run(conveyor("db", "migrate"), env=env, check=True, capture_output=True)
        engine = create_engine(url)
        try:
            register_dags(env, engine, len(workload.dag_ids))
            trigger_manual_runs(url, workload)
            return _run_scheduler(store, workload, round_, env, engine, tmp, args.timeout)
        finally:
            engine.dispose()
    finally:
        if store == "postgres":
            drop_pg_database(args.pg_url, db_name)


def _run_scheduler(
    store: str,
    workload: Workload,
    round_: int,
    env: dict[str, str],
    engine: Engine,
    tmp: Path,
    timeout: float,
) -> WorkloadResult:
    log_path = tmp / "scheduler.log"
    with log_path.open("w") as log:
        started_at, started = datetime.now(UTC), time.monotonic()
        proc = start_scheduler(env, log)
        try:
            wait_for_runs(proc, engine, workload.runs, timeout, log_path)
            wall = time.monotonic() - started
            cpu = cpu_seconds(proc.pid)
        finally:
            stop_scheduler(proc)
    tasks, first, last = read_tries(engine)
    tries_seconds = (last - first).total_seconds()
    _, made = unfinished_runs(engine)
    if made != workload.runs:  # e.g. midnight UTC passed, and a second @daily run came due
        print(f"# {workload.layout}: {made} runs, not {workload.runs}", file=sys.stderr)
    return WorkloadResult(
        store=store,
        layout=workload.layout,
        round=round_,
        dags=len(workload.dag_ids),
        runs=made,
        tasks=tasks,
        failed_runs=count_failed_runs(engine),
        tasks_per_second=tasks / tries_seconds,
        tries_seconds=tries_seconds,
        first_try_after=(first - started_at).total_seconds(),
        wall_seconds=wall,
        scheduler_cpu_seconds=cpu,
    )


def measure_workloads(args: argparse.Namespace) -> list[WorkloadResult]:
    """few, many, few, many... on each store, so load noise hits both layouts alike."""
    layouts = [few_dags(args.dags, args.few_dags, args.manual), many_dags(args.dags, args.manual)]
    results = []
    for store in args.stores.split(","):
        for round_ in range(1, args.repeat + 1):
            for workload in layouts:
                result = run_workload(store, workload, round_, args)
                results.append(result)
                print(f"# {json.dumps(asdict(result))}", file=sys.stderr, flush=True)
    return results


def print_workload_table(results: list[WorkloadResult]) -> None:
    print(
        f"{'store':<9} {'round':>5} {'layout':<6} {'DAGs':>5} {'runs':>5} {'tasks':>6} "
        f"{'failed':>6} {'tasks/s':>8} {'tries s':>8} {'1st try':>8} {'wall s':>7} {'CPU s':>7}"
    )
    for r in results:
        print(
            f"{r.store:<9} {r.round:>5} {r.layout:<6} {r.dags:>5} {r.runs:>5} {r.tasks:>6} "
            f"{r.failed_runs:>6} {r.tasks_per_second:>8.1f} {r.tries_seconds:>8.1f} "
            f"{r.first_try_after:>7.1f}s {r.wall_seconds:>7.1f} {r.scheduler_cpu_seconds:>7.1f}"
        )
    print()
    for store in dict.fromkeys(r.store for r in results):
        ratios = []
        for round_ in sorted({r.round for r in results if r.store == store}):
            by_layout = {r.layout: r for r in results if r.store == store and r.round == round_}
            ratio = by_layout["many"].tasks_per_second / by_layout["few"].tasks_per_second
            wall = by_layout["many"].wall_seconds / by_layout["few"].wall_seconds
            ratios.append(ratio)
            print(
                f"{store} round {round_}: tasks/s many / few = {ratio:.2f} "
                f"(wall many / few = {wall:.2f})"
            )
        if len(ratios) > 1:
            print(
                f"{store}: tasks/s many / few, median of rounds = {statistics.median(ratios):.2f}"
            )


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,200,1000")
    parser.add_argument(
        "--stores", help="default: sqlite,postgres; with --workload: sqlite (the embedded default)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--limit", type=float, default=120.0, help="seconds to wait for listing")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument(
        "--workload", action="store_true", help="tasks/s of many DAGs against the same runs in few"
    )
    parser.add_argument("--dags", type=int, default=1000, help="--workload: DAG files, many")
    parser.add_argument("--few-dags", type=int, default=10, help="--workload: DAG files, few")
    parser.add_argument("--manual", type=int, default=200, help="--workload: manual runs added")
    parser.add_argument("--repeat", type=int, default=1, help="--workload: rounds of few, many")
    parser.add_argument("--operator", choices=sorted(TASKS), default="python")
    parser.add_argument("--parallelism", type=int, default=8, help="the local executor's slots")
    parser.add_argument("--timeout", type=float, default=3600.0, help="--workload: per layout")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.workload:
        args.stores = args.stores or "sqlite"
        workload_results = measure_workloads(args)
        if args.json:
            print(json.dumps([asdict(r) for r in workload_results], indent=2))
        else:
            print_workload_table(workload_results)
        return
    results = []
    for store in (args.stores or "sqlite,postgres").split(","):
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
