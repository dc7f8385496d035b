"""A real cluster that fault tests kill pieces of: schedulers, workers, the store itself.

Every process is a real ``conveyor scheduler`` or ``conveyor worker`` on the machine's Redis,
against a PostgreSQL store. Tasks count their own executions by appending a line to a file
(one ``write`` on an ``O_APPEND`` descriptor, so lines from several processes never mix), so
"ran twice" and "lost" are measured from what ran, not from what the store says.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from conveyor.config import Settings, load_config
from conveyor.states import RUN_FINISHED
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_event, task_instance, task_try

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
#: A Redis database of the fault tests' own; each cluster also has its own queue name.
BROKER = "redis://127.0.0.1:6379/4"

DAGS = '''
import os
import time
from datetime import datetime

from conveyor import DAG, task

QUEUE = {queue!r}
COUNT_FILE = {count_file!r}
DEFAULTS = {{"queue": QUEUE, "retries": 0}}


def count(ti, seconds):
    """Record that this try really started, then work for a while."""
    line = f"{{ti.dag_id}} {{ti.run_id}} {{ti.task_id}} {{ti.try_number}}\\n"
    fd = os.open(COUNT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    time.sleep(seconds)


with DAG("wide", max_active_tasks=64, default_args=DEFAULTS) as wide:
    @task
    def first(ti=None):
        count(ti, 0.05)

    @task
    def part(i, ti=None):
        count(ti, 0.2 + (i % 5) * 0.05)

    @task
    def last(ti=None):
        count(ti, 0.05)

    parts = [part.override(task_id=f"part_{{i:02d}}")(i) for i in range({width})]
    first() >> parts >> last()


with DAG("chain", default_args=DEFAULTS) as chain_dag:
    previous = None
    for i in range({length}):
        @task(task_id=f"link_{{i:02d}}")
        def link(ti=None):
            count(ti, 0.1)

        current = link()
        if previous is not None:
            previous >> current
        previous = current


with DAG(
    "ticks",
    schedule="@hourly",
    start_date=datetime.fromisoformat({ticks_from!r}),
    catchup=True,
    max_active_runs=2,
    default_args=DEFAULTS,
) as ticks:
    @task
    def tick(ti=None):
        count(ti, 0.5)  # each run waits for a scheduler to start it: work for survivors

    tick()
'''


@dataclass
class Cluster:
    """Schedulers and workers of one test, and what the test needs to judge them."""

    tmp: Path
    env: dict[str, str]
    settings: Settings
    store: Store
    count_file: Path
    queue: str
    schedulers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    webs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[object] = field(default_factory=list)

    def _start(
        self, name: str, args: list[str], clock_offset: float | None = None
    ) -> subprocess.Popen[bytes]:
        handle = (self.tmp / f"{name}.log").open("a")
        self._logs.append(handle)
        command, env = [CONVEYOR, *args], self.env
        if clock_offset is not None:
            # The process (and the tries it starts) reads a wall clock this far off, as on a
            # host whose time service failed (conveyor.clock).
            env = {**env, "CONVEYOR_FAULT_HOST_CLOCK_SKEW": f"{clock_offset:g}"}
        return subprocess.Popen(
            command,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes all of it
        )

    def start_scheduler(self, name: str, *, clock_offset: float | None = None) -> None:
        self.schedulers[name] = self._start(name, ["scheduler"], clock_offset)

    def start_worker(self, name: str, *, clock_offset: float | None = None) -> None:
        self.workers[name] = self._start(
            name,
            ["worker", "-q", self.queue, "-c", "4", "-n", f"{name}@{self.queue}"],
            clock_offset,
        )

    def start_web(self, name: str, port: int) -> None:
        self.webs[name] = self._start(name, ["web", "--port", str(port)])

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL a process and everything it started: no shutdown code runs."""
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self, *, at_once: bool = False) -> None:
        """SIGTERM to every process, SIGKILL to one still running after 20 s; ``at_once``:
        SIGKILL straight away (a warm stop of a Celery worker takes seconds)."""
        processes = [*self.schedulers.values(), *self.workers.values(), *self.webs.values()]
        if at_once:
            for process in processes:
                self.kill(process)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(process)
        for handle in self._logs:
            handle.close()  # type: ignore[attr-defined]

    def trigger(self, dag_id: str) -> None:
        result = subprocess.run(
            [CONVEYOR, "dags", "trigger", dag_id],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in sorted(self.tmp.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


def make_cluster(
    tmp: Path,
    database_url: str,
    *,
    width: int,
    length: int,
    ticks: int,
    executor: str = "celery",
) -> Cluster:
    queue = f"fault-{uuid.uuid4().hex[:8]}"
    dags = tmp / "dags"
    dags.mkdir()
    count_file = tmp / "executions.txt"
    (dags / "counted.py").write_text(
        textwrap.dedent(
            DAGS.format(
                queue=queue,
                count_file=str(count_file),
                width=width,
                length=length,
                ticks_from=(hour_now() - timedelta(hours=ticks)).isoformat(),
            )
        )
    )
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": database_url,
        "CONVEYOR_BROKER_URL": BROKER,
        "CONVEYOR_EXECUTOR": executor,
        "CONVEYOR_PARALLELISM": "16",
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
        "CONVEYOR_DAG_SCAN_SECONDS": "0.5",
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
        "CONVEYOR_ZOMBIE_AFTER_SECONDS": "10",
        "CONVEYOR_REQUEUE_AFTER_SECONDS": "5",
        "CONVEYOR_KILL_GRACE_SECONDS": "2",
    }
    settings = load_config(env).settings
    return Cluster(tmp, env, settings, Store(settings.db_url), count_file, queue)


@contextmanager
def running(cluster: Cluster, *, kill_at_end: bool = False) -> Iterator[Cluster]:
    """The cluster's processes are stopped on the way out; ``kill_at_end`` for a test that
    checks everything inside the block, so that nothing a stopping process writes is read."""
    try:
        yield cluster
    finally:
        cluster.stop_all(at_once=kill_at_end)
        cluster.store.dispose()


def wait_for(condition: Callable[[], bool], limit: float, what: str, cluster: Cluster) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {limit:g}s\n{cluster.log_tail()}")


def runs_by_state(store: Store) -> Counter[str]:
    with store.read() as conn:
        return Counter(conn.execute(select(dag_run.c.state)).scalars())


def all_runs_finished(store: Store, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        states = runs_by_state(store)
        finished = sum(n for state, n in states.items() if state in RUN_FINISHED)
        return sum(states.values()) >= expected and finished == sum(states.values())

    return check


def runs_succeeded(store: Store, dag_id: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        with store.read() as conn:
            done = conn.execute(
                select(func.count()).where(dag_run.c.dag_id == dag_id, dag_run.c.state == "success")
            ).scalar_one()
        return bool(done >= count)

    return check


def links_started(cluster: Cluster, count: int) -> Callable[[], bool]:
    """At least ``count`` tries of the chain DAG's links have started."""

    def check() -> bool:
        text = cluster.count_file.read_text() if cluster.count_file.exists() else ""
        return text.count(" link_") >= count

    return check


def dag_parsed(store: Store, dag_ids: set[str]) -> Callable[[], bool]:
    from conveyor.store.tables import dag

    def check() -> bool:
        with store.read() as conn:
            return dag_ids <= set(conn.execute(select(dag.c.dag_id)).scalars())

    return check


@dataclass
class Tally:
    """What ran, against what the store says should have run."""

    executions: int
    twice: list[tuple[str, ...]]
    lost: list[tuple[str, ...]]
    ticks_doubled: list[tuple[str, datetime]]
    ticks: int


def tally(cluster: Cluster) -> Tally:
    lines = cluster.count_file.read_text().splitlines() if cluster.count_file.exists() else []
    ran = Counter(tuple(line.split()[:3]) for line in lines)
    with cluster.store.read() as conn:
        expected = {
            (r.dag_id, r.run_id, r.task_id)
            for r in conn.execute(
                select(task_instance.c.dag_id, task_instance.c.run_id, task_instance.c.task_id)
            )
        }
        doubled = conn.execute(
            select(dag_run.c.dag_id, dag_run.c.logical_date)
            .where(dag_run.c.run_type == "scheduled")
            .group_by(dag_run.c.dag_id, dag_run.c.logical_date)
            .having(func.count() > 1)
        ).all()
        ticks = conn.execute(select(func.count()).where(dag_run.c.dag_id == "ticks")).scalar_one()
    return Tally(
        executions=len(lines),
        twice=sorted(key for key, n in ran.items() if n > 1),
        lost=sorted(expected - set(ran)),
        ticks_doubled=[(r.dag_id, r.logical_date) for r in doubled],
        ticks=ticks,
    )


def why_lost(cluster: Cluster, counted: Tally) -> str:
    """What a failed "lost" check shows: the tasks that never ran, the tries the store
    records as failed with their errors (a try that failed before the task's code ran is
    what loses work), and the end of every process's log."""
    with cluster.store.read() as conn:
        failed = conn.execute(
            select(
                task_instance.c.task_id,
                task_try.c.try_number,
                task_try.c.exit_kind,
                task_try.c.error,
                task_try.c.hostname,
            )
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_try.c.state == "failed")
            .limit(10)
        ).all()
    tries = "\n".join(
        f"  {t.task_id} try {t.try_number} on {t.hostname} ({t.exit_kind}): {error}"
        for t in failed
        for error in [(t.error or "").strip()[-600:]]
    )
    shown = ", ".join(" ".join(key[::2]) for key in counted.lost[:12])
    return (
        f"never ran ({len(counted.lost)}): {shown}\n"
        f"failed tries:\n{tries or '  none'}\n{cluster.log_tail(15)}"
    )


def hour_now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def expected_ticks(hours: int) -> set[int]:
    """Hourly runs from ``hours`` hours ago: one per finished hour, and one more if an hour
    ended while the test ran."""
    return {hours, hours + 1}


def first_scheduler_move_after(
    store: Store, moment: datetime, *, by_pid: int | None = None
) -> float | None:
    """Seconds from ``moment`` to the first timeline entry a scheduler (the one with process
    id ``by_pid``, if given) made after it; None if there is none yet."""
    with store.read() as conn:
        rows = conn.execute(
            select(task_event.c.at, task_event.c.actor)
            .where(task_event.c.at > moment, task_event.c.actor.like("scheduler@%"))
            .order_by(task_event.c.at)
        ).all()
    for row in rows:
        if by_pid is None or row.actor.endswith(f":{by_pid}"):
            return (row.at - moment).total_seconds()
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


def report(title: str, **figures: object) -> None:
    """Print a test's figures: they are what the issue asks to report."""
    width = max(len(k) for k in figures)
    print(f"\n== {title}")
    for key, value in figures.items():
        print(f"   {key.replace('_', ' '):<{width}}  {value}")
