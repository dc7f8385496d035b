"""One triggerer holding N deferred sensors: its CPU, its memory, and how soon an event
moves its try back to scheduled, against the same triggerer with one trigger.

A real ``conveyor triggerer`` process runs against a SQLite (or ``--database-url``) store. The
deferred tries are made directly in the store (a DAG of N tasks, a run, each instance moved
to ``deferred`` with a ``DateTimeTrigger`` row, as ``engine/deferral.record_deferral`` leaves
them), so what is measured is the triggerer alone, not the N tries that would defer:

- **baseline** (same process, same run): the triggerer idle (CPU over a few seconds, RSS),
  then single triggers one after another: the delay from each trigger's moment to its try's
  ``scheduled_at`` (the resume move the triggerer made);
- **N triggers** whose moments are spread evenly over ``--spread`` seconds, starting once the
  triggerer runs them all: the CPU it took to claim and start them, its CPU share while they
  wait, RSS with them all waiting, the CPU to fire them, and each one's moment -> scheduled
  delay (p50, p95, max).

CPU time and RSS are read from ``/proc`` for the triggerer's pid.

    .venv/bin/python bench/triggerer.py [--triggers 10000] [--spread 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from conveyor.loading.processor import DagFileProcessor
from conveyor.states import TaskState
from conveyor.store import runs, schema, triggers
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance, triggerer
from conveyor.triggerer.process import SYNC_SECONDS
from conveyor.triggers.serialization import serialize
from conveyor.triggers.temporal import DateTimeTrigger

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

DAG = """\
from datetime import datetime

from conveyor import DAG, EmptyOperator

with DAG("deferred_{n}", start_date=datetime(2024, 1, 1), schedule=None):
    for i in range({n}):
        EmptyOperator(task_id=f"t{{i}}")
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Figures:
    triggers: int
    idle_cpu_percent: float
    idle_rss_mib: float
    single_latency_ms_p50: float
    single_latency_ms_max: float
    start_cpu_seconds: float  # claiming, building and starting the N triggers
    start_seconds: float  # from the rows' commit until it ran them all
    waiting_cpu_percent: float
    waiting_rss_mib: float
    fire_cpu_seconds: float
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_max: float


class Bench:
    def __init__(self, home: Path, database_url: str | None) -> None:
        self.home = home
        self.dags = home / "dags"
        self.dags.mkdir(parents=True)
        self.url = database_url or f"sqlite:///{home / 'conveyor.db'}"
        self.store = Store(self.url)
        if database_url:
            schema.reset(self.store)
        schema.migrate(self.store)

    def make_run(self, n: int) -> int:
        """A run of a DAG of ``n`` tasks; its instances made, none started."""
        (self.dags / f"deferred_{n}.py").write_text(textwrap.dedent(DAG.format(n=n)))
        DagFileProcessor(
            self.store, self.dags, timeout=120, scan_every=1, paused_at_creation=False
        ).sync()
        with self.store.write() as conn:
            run_pk = runs.create_manual_run(conn, f"deferred_{n}", created_by="bench")
        assert run_pk is not None
        with self.store.write() as conn:
            runs.task_instances(conn, run_pk)  # made with the run
        return run_pk

    def defer_all(self, run_pk: int, moments: list[datetime]) -> list[int]:
        """Each instance of the run deferred to a DateTimeTrigger at its moment."""
        with self.store.write() as conn:
            tis = sorted(runs.task_instances(conn, run_pk), key=lambda t: t.id)
            assert len(tis) == len(moments), (len(tis), len(moments))
            conn.execute(
                update(task_instance)
                .where(task_instance.c.run_pk == run_pk)
                .values(state=TaskState.DEFERRED.value, try_number=1)
            )
            now = datetime.now(UTC)
            for ti, moment in zip(tis, moments, strict=True):
                classpath, kwargs = serialize(DateTimeTrigger(moment))
                triggers.add(conn, ti.id, 1, classpath, kwargs, "execute_complete", None, None, now)
        return [ti.id for ti in tis]

    def latencies(self, run_pk: int, moments: dict[int, datetime]) -> list[float] | None:
        """Moment -> scheduled of every instance, in ms; None while some still wait."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    task_instance.c.id, task_instance.c.state, task_instance.c.scheduled_at
                ).where(task_instance.c.run_pk == run_pk)
            ).all()
        if any(r.state != TaskState.SCHEDULED.value for r in rows):
            return None
        return [(r.scheduled_at - moments[r.id]).total_seconds() * 1000 for r in rows]

    def running(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(select(triggerer.c.running)).scalar() or 0)


def wait_until(condition: Any, limit: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + limit
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not reached in {limit:g}s")
        time.sleep(every)


def measure(n: int, spread: float, database_url: str | None) -> Figures:
    home = Path(tempfile.mkdtemp(prefix="conveyor-triggerer-bench-"))
    try:
        bench = Bench(home, database_url)
        single_runs = [bench.make_run(1) for _ in range(5)]
        big_run = bench.make_run(n)
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(home),
            "CONVEYOR_DAGS_FOLDER": str(bench.dags),
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
            "CONVEYOR_DATABASE_URL": bench.url,
            "CONVEYOR_HEARTBEAT_SECONDS": "1",
        }
        process = subprocess.Popen(
            [CONVEYOR, "triggerer", "--capacity", str(2 * n)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            return _measure(bench, process.pid, n, spread, single_runs, big_run)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _measure(
    bench: Bench, pid: int, n: int, spread: float, single_runs: list[int], big_run: int
) -> Figures:
    wait_until(lambda: _has_row(bench), 60, "the triggerer's first heartbeat")
    time.sleep(1)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(3)
    idle_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) * 100
    idle_rss = rss_mib(pid)

    singles = []
    for run_pk in single_runs:
        moment = datetime.now(UTC) + timedelta(seconds=1.5)
        [ti_id] = bench.defer_all(run_pk, [moment])
        found = wait_until(lambda r=run_pk, m=moment, i=ti_id: bench.latencies(r, {i: m}), 30, "1")
        singles.extend(found)

    far = datetime.now(UTC) + timedelta(days=1)  # moved to their real moments below
    cpu_start, writing = cpu_seconds(pid), time.monotonic()
    ti_ids = bench.defer_all(big_run, [far] * n)
    started = time.monotonic()
    write_seconds = started - writing  # the bench's own insert, which holds SQLite's lock
    wait_until(lambda: bench.running() >= n, 900, f"the triggerer running {n} triggers", 0.2)
    start_seconds = time.monotonic() - started
    start_cpu = cpu_seconds(pid) - cpu_start
    cpu_w, t_w = cpu_seconds(pid), time.monotonic()
    time.sleep(5)
    waiting_cpu = (cpu_seconds(pid) - cpu_w) / (time.monotonic() - t_w) * 100
    waiting_rss = rss_mib(pid)

    # Fire: the same N tries deferred again, to moments spread over ``spread`` seconds from
    # a lead long enough for the claim and start just measured.
    # Long enough for the insert below (it holds the store's write lock), the old triggers'
    # end at the next sync, and the claim and start just measured.
    lead = 2 * write_seconds + 1.5 * start_seconds + SYNC_SECONDS + 3
    first = datetime.now(UTC) + timedelta(seconds=lead)
    moments = {
        ti_id: first + timedelta(seconds=spread * i / max(n - 1, 1))
        for i, ti_id in enumerate(ti_ids)
    }
    with bench.store.write() as conn:
        conn.execute(
            update(task_instance)
            .where(task_instance.c.run_pk == big_run)
            .values(try_number=2)  # the first triggers' tries are over: orphans
        )
    with bench.store.write() as conn:
        for ti_id, moment in moments.items():
            classpath, kwargs = serialize(DateTimeTrigger(moment))
            triggers.add(
                conn, ti_id, 2, classpath, kwargs, "execute_complete", None, None, datetime.now(UTC)
            )
    wait_until(lambda: datetime.now(UTC) >= first, lead + 60, "the first moment")
    if bench.running() < n:
        print("warning: not every trigger ran before the first moment", file=sys.stderr)
    cpu_f = cpu_seconds(pid)
    # Polled slowly: the delays are the store's (scheduled_at), and reading N rows often
    # would take the CPU the triggerer is measured on.
    found = wait_until(
        lambda: bench.latencies(big_run, moments), 900, "every trigger fired", every=1.0
    )
    fire_cpu = cpu_seconds(pid) - cpu_f
    return Figures(
        triggers=n,
        idle_cpu_percent=round(idle_cpu, 2),
        idle_rss_mib=round(idle_rss, 1),
        single_latency_ms_p50=round(statistics.median(singles), 1),
        single_latency_ms_max=round(max(singles), 1),
        start_cpu_seconds=round(start_cpu, 2),
        start_seconds=round(start_seconds, 2),
        waiting_cpu_percent=round(waiting_cpu, 2),
        waiting_rss_mib=round(waiting_rss, 1),
        fire_cpu_seconds=round(fire_cpu, 2),
        latency_ms_p50=round(percentile(found, 0.5), 1),
        latency_ms_p95=round(percentile(found, 0.95), 1),
        latency_ms_max=round(max(found), 1),
    )


def _has_row(bench: Bench) -> bool:
    with bench.store.read() as conn:
        return conn.execute(select(triggerer.c.id)).first() is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds the moments span")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (reset first)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.triggers, args.spread, args.database_url)
    if args.json:
        print(json.dumps(asdict(figures)))
        return
    for name, value in asdict(figures).items():
        print(f"{name:<24} {value}")


if __name__ == "__main__":
    main()
