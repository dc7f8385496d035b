"""A burst: many DAGs come due at the same moment (the top of the hour), and the scheduler
loop of the embedded default (SQLite, local executor) has to create their runs and start
their first tasks (bench/README.md, "scheduler_burst.py").

``--dags`` DAG files of a chain of ``--tasks`` Python tasks are parsed paused once; each
trial copies that store and unpauses every DAG in one transaction: from that moment (t0)
all of them are due. A scheduler then runs in this process until each run's first task has
started. Each variant (settings of the loop's bounds) runs ``--rounds`` times, the variants
alternated so that the machine's load falls on each. A trial prints its first loop's phases
(creating runs, starting them, planning them, handing tries to the executor), when the
first try was handed over and the last run created, and the delay from t0 to each run's
first try's start (p50, p99, max): the production day's schedule delay, for a burst.

    .venv/bin/python bench/scheduler_burst.py --dags 200 --rounds 3
    .venv/bin/python bench/scheduler_burst.py --dags 1000 --tasks 1 --rounds 2 \\
        --variant unbounded:max_dagruns_to_create_per_loop=100000,\\
max_dagruns_per_loop_to_schedule=100000 \\
        --variant airflow:max_dagruns_to_create_per_loop=10,max_dagruns_per_loop_to_schedule=20

With no ``--variant``: ``unbounded`` (the loop as it was before its bounds) and
``defaults`` (Conveyor's default bounds).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from conveyor.config import load_config
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store.engine import Store
from conveyor.store.schema import migrate
from conveyor.store.tables import dag, dag_run, task_instance, task_try

DAG_FILE = """\
from datetime import datetime, timedelta

from conveyor import DAG, PythonOperator


def work():
    pass


with DAG("{dag_id}", schedule=timedelta(hours=1), start_date=datetime(2024, 1, 1),
         catchup=False):
    previous = None
    for n in range({tasks}):
        step = PythonOperator(task_id=f"t{{n}}", python_callable=work)
        if previous is not None:
            previous >> step
        previous = step
"""

#: Settings that bound nothing: the loop as it was before the bounds.
UNBOUNDED = {"max_dagruns_to_create_per_loop": 100_000, "max_dagruns_per_loop_to_schedule": 100_000}

PHASES = (
    "create_scheduled_runs",
    "start_queued_runs",
    "advance_running_runs",
    "dispatch",
)


class Timed:
    """Each loop's time in each phase, and the moment of the first hand-over."""

    def __init__(self, sched: Scheduler) -> None:
        self.loops: list[dict[str, float]] = []
        self.first_submit: float | None = None
        for name in PHASES:
            setattr(sched, name, self._wrap(name, getattr(sched, name)))
        step = sched.step

        def timed_step(now: datetime | None = None) -> None:
            self.loops.append(defaultdict(float))
            started = time.monotonic()
            step(now)
            self.loops[-1]["loop"] = time.monotonic() - started

        sched.step = timed_step  # type: ignore[method-assign]
        submit = sched.executor.submit

        def timed_submit(tries: Any) -> None:
            if tries and self.first_submit is None:
                self.first_submit = time.monotonic()
            submit(tries)

        sched.executor.submit = timed_submit  # type: ignore[method-assign]

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return method(*args, **kwargs)
            finally:
                if self.loops:
                    self.loops[-1][name] += time.monotonic() - started

        return timed


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``name:setting=value,setting=value`` -> (name, overrides)."""
    name, _, pairs = text.partition(":")
    overrides: dict[str, Any] = {}
    for pair in filter(None, pairs.split(",")):
        key, _, value = pair.partition("=")
        overrides[key] = int(value)
    return name, overrides


@dataclass
class Trial:
    variant: str
    first_loop: dict[str, float]
    longest_loop: float
    last_created: float
    first_handed: float
    loops: int
    elapsed: float
    delays: list[float]
    later_tasks_first: int  # tries of later tasks started before the last first task

    def line(self) -> str:
        phases = ", ".join(
            f"{name.split('_')[0]} {self.first_loop.get(name, 0.0):.2f}" for name in PHASES
        )
        return (
            f"{self.variant:>10}: first loop {self.first_loop['loop']:.2f} s ({phases}); "
            f"first try handed over +{self.first_handed:.2f} s, last run created "
            f"+{self.last_created:.2f} s; {self.loops} loops, the longest "
            f"{self.longest_loop:.2f} s; first-task delay p50 "
            f"{quantile(self.delays, 0.5):.2f} s, p99 {quantile(self.delays, 0.99):.2f} s, "
            f"max {max(self.delays):.2f} s; all started in {self.elapsed:.1f} s, after "
            f"{self.later_tasks_first} tries of later tasks"
        )


def trial(root: Path, template: Path, variant: str, overrides: dict[str, Any], args: Any) -> Trial:
    db = root / f"{variant}.db"
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(db)) as copy,
    ):
        source.backup(copy)
    store = Store(f"sqlite:///{db}")
    settings = load_config(
        {"CONVEYOR_HOME": str(root / "home")},
        home=root / "home",
        dags_folder=root / "dags",
        database_url=store.url,
        **overrides,
    ).settings
    sched = Scheduler(settings, store, LocalExecutor(settings), None)
    timed = Timed(sched)
    first_tasks = (
        select(func.count())
        .select_from(task_instance.join(task_try, task_try.c.ti_id == task_instance.c.id))
        .where(task_instance.c.task_id == "t0", task_try.c.start_date.is_not(None))
    )
    t0 = datetime.now(UTC)
    with store.write() as conn:
        conn.execute(update(dag).values(is_paused=False))  # every DAG is due from now
    started = time.monotonic()

    def all_started() -> bool:
        if time.monotonic() - started > args.timeout:
            raise SystemExit(f"not every run's first task started in {args.timeout:g} s")
        with store.read() as conn:
            return int(conn.execute(first_tasks).scalar_one()) >= args.dags

    sched.run(until=all_started)
    elapsed = time.monotonic() - started
    with store.read() as conn:
        created = conn.execute(select(dag_run.c.queued_at)).scalars().all()
        starts = conn.execute(
            select(task_try.c.start_date)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.task_id == "t0", task_try.c.try_number == 1)
        ).scalars()
        delays = [(s - t0).total_seconds() for s in starts if s is not None]
        last_first = t0 + timedelta(seconds=max(delays))
        ahead = conn.execute(
            select(func.count()).where(
                task_try.c.start_date <= last_first,
                task_try.c.ti_id.in_(
                    select(task_instance.c.id).where(task_instance.c.task_id != "t0")
                ),
            )
        ).scalar_one()
    store.dispose()
    db.unlink()
    return Trial(
        variant,
        timed.loops[0],
        max(loop["loop"] for loop in timed.loops),
        (max(created) - t0).total_seconds(),
        (timed.first_submit or started) - started,
        len(timed.loops),
        elapsed,
        delays,
        int(ahead),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dags", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="name:setting=value,... (repeat); default: unbounded and the defaults",
    )
    parser.add_argument("--rounds", type=int, default=1, help="each variant this many times")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    variants = [parse_variant(v) for v in args.variant] or [
        ("unbounded", dict(UNBOUNDED)),
        ("defaults", {}),
    ]

    with tempfile.TemporaryDirectory(prefix="burst-") as tmp:
        root = Path(tmp)
        folder = root / "dags"
        folder.mkdir()
        for n in range(args.dags):
            dag_id = f"burst_{n:04d}"
            (folder / f"{dag_id}.py").write_text(DAG_FILE.format(dag_id=dag_id, tasks=args.tasks))
        template = root / "template.db"
        store = Store(f"sqlite:///{template}")
        migrate(store)
        parsing = time.monotonic()
        DagFileProcessor(store, folder, timeout=60, scan_every=0.05, paused_at_creation=True).sync()
        store.dispose()
        print(
            f"parsed {args.dags} DAG files of {args.tasks} tasks in "
            f"{time.monotonic() - parsing:.1f} s",
            flush=True,
        )
        trials: dict[str, list[Trial]] = defaultdict(list)
        for _ in range(args.rounds):  # alternated, so that the machine's load falls on each
            for name, overrides in variants:
                done = trial(root, template, name, overrides, args)
                trials[name].append(done)
                print(done.line(), flush=True)

    print("\nmedian over the rounds:")
    base = variants[0][0]
    for name, _ in variants:
        p99 = statistics.median(quantile(t.delays, 0.99) for t in trials[name])
        p50 = statistics.median(quantile(t.delays, 0.5) for t in trials[name])
        spread = [round(quantile(t.delays, 0.99), 1) for t in trials[name]]
        base_p99 = statistics.median(quantile(t.delays, 0.99) for t in trials[base])
        print(
            f"{name:>10}: p50 {p50:.2f} s, p99 {p99:.2f} s (each round: {spread}), "
            f"p99 / {base}'s {p99 / base_p99:.2f}"
        )


if __name__ == "__main__":
    main()
