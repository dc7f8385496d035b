"""How long a hop between two tasks takes on the local executor, next to an interpreter start.

The local executor runs every try in a process of its own, forked from a warm fork server, so
that a hop between two tasks costs less than starting one Python interpreter. This benchmark
checks that promise on the embedded setup (SQLite, LocalExecutor, real scheduler loop):

- ``chain``: N no-op ``PythonOperator`` tasks in a line. Every hop is the fast path: the try
  that finishes queues the next one in its own transaction, the executor forks the next try.
- ``fanout``: one start task, M parallel no-op tasks, one end task: throughput.

A chain's hop is measured between the tasks' own code: each task writes when its code started
and ended, so a hop is all that Conveyor does between one task's code and the next one's. The
other figures come from the store (the run's and the tries' recorded start and end), not from
timing the script, so they are what a user sees in the UI. Baselines are measured in the same
process: a bare ``python -c pass`` and ``python -c "import conveyor.worker.runner"``.

    .venv/bin/python bench/local_executor.py [--chain 50] [--fanout 200] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import itertools
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from conveyor.config import load_config
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.private_files import private_file
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState
from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance, task_try

#: What users' pipelines wait today on machines like these: the figures we aim past.
AIM_PAST_HOP_SECONDS = 1.0
AIM_PAST_FANOUT_TASKS_PER_SECOND = 9.5

#: What each benchmark task runs: it appends when its own code started and ended to the
#: marks file (``MARKS``, filled in by :func:`with_marks`), so that a hop is what a user waits
#: from the end of one task's code to the start of the next one's, Conveyor's whole cost in
#: between (the recorded start and end of a try leave out its log file, its context and the
#: rendering before the code, and everything after it up to the outcome's record).
_MARK = """\
import os
import time

MARKS = "__MARKS__"


def mark(task_id):
    def run():
        start = time.time()
        end = time.time()
        fd = os.open(MARKS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{{task_id}} {{start:.6f}} {{end:.6f}}\\n".encode())
        os.close(fd)

    return run
"""

CHAIN_DAG = (
    '''"""Benchmark: {n} no-op Python tasks in a line (conveyor DAG)."""
from datetime import datetime

from conveyor import DAG, PythonOperator, chain
'''
    + _MARK
    + """

with DAG("bench_chain", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    chain(*[PythonOperator(task_id=f"t{{i:04d}}", python_callable=mark(f"t{{i:04d}}"))
            for i in range({n})])
"""
)

FANOUT_DAG = (
    '''"""Benchmark: one start task, {n} parallel no-op tasks, one end task (conveyor DAG)."""
from datetime import datetime

from conveyor import DAG, PythonOperator
'''
    + _MARK
    + """

with DAG(
    "bench_fanout", schedule=None, start_date=datetime(2024, 1, 1), max_active_tasks={limit}
) as dag:
    start = PythonOperator(task_id="start", python_callable=mark("start"))
    end = PythonOperator(task_id="end", python_callable=mark("end"))
    for i in range({n}):
        task_id = f"t{{i:04d}}"
        start >> PythonOperator(task_id=task_id, python_callable=mark(task_id)) >> end
"""
)


#: Homes of the runs measured so far, removed when the benchmark ends (see :func:`run_home`).
_HOMES: list[str] = []


@contextlib.contextmanager
def run_home(prefix: str, under: Path | None = None) -> Iterator[str]:
    """A fresh folder for one measured run, removed when the benchmark process ends rather
    than when the run does.

    Removing a run's thousands of log files and folders just before the next run slowed that
    run: on a file system without a journal (these machines' ext4), making a file or folder
    skips each inode freed in the last one to six minutes, checking it on the way (a profile
    of a fan-out found a fifth of both cores in ``recently_deleted``, under ``mkdir`` and
    ``open``). The run that came after a removal paid for it: the order effect seen between
    paired runs (bench/README.md).
    """
    if not _HOMES:
        atexit.register(_remove_homes)
    folder = tempfile.mkdtemp(prefix=prefix, dir=under)
    _HOMES.append(folder)
    yield folder


def _remove_homes() -> None:
    while _HOMES:
        shutil.rmtree(_HOMES.pop(), ignore_errors=True)


@contextlib.contextmanager
def log_folder(logs_under: Path | None) -> Iterator[dict[str, str]]:
    """The settings that send a run's task logs to a fresh folder under ``logs_under`` (on
    tmpfs, say: a hop without this disk's file-system costs), removed afterwards; none, and
    the logs stay in the run's home, where users have them."""
    if logs_under is None:
        yield {}
        return
    with run_home("conveyor-bench-logs-", logs_under) as folder:
        yield {"CONVEYOR_LOG_FOLDER": folder}


def with_marks(source: str, home: Path) -> tuple[str, Path]:
    """The DAG source with its marks file in ``home``; and that file."""
    marks = home / "marks.txt"
    return source.replace("__MARKS__", str(marks)), marks


@dataclass
class Try:
    task_id: str
    start: datetime  # as recorded in the store
    end: datetime
    code_start: float  # as the task's own code saw it (epoch seconds)
    code_end: float


@dataclass
class RunTiming:
    """What the store recorded about one benchmark run."""

    dag_id: str
    state: str
    run_seconds: float  # the run's start_date to end_date
    tries_seconds: float  # first try's start to last try's end
    tries: list[Try]


def run_dag(
    dag_id: str,
    source: str,
    *,
    parallelism: int,
    loop_seconds: float,
    timeout: float,
    database_url: str | None = None,
    logs_under: Path | None = None,
    settings: dict[str, Any] | None = None,
) -> RunTiming:
    """One fresh home and store, one DAG file, one manual run through the real scheduler.
    ``logs_under``: see :func:`log_folder`; ``settings``: more settings, by name."""
    more = settings or {}
    with (
        run_home("conveyor-bench-") as tmp,
        log_folder(logs_under) as logs,
    ):
        home = Path(tmp)
        dags = home / "dags"
        dags.mkdir()
        source, marks = with_marks(source, home)
        (dags / f"{dag_id}.py").write_text(source)
        settings = load_config(
            {"CONVEYOR_HOME": str(home), "CONVEYOR_DAGS_FOLDER": str(dags), **logs},
            parallelism=parallelism,
            scheduler_loop_seconds=loop_seconds,
            database_url=database_url,
            **more,
        ).settings
        store = Store(settings.db_url)
        if database_url:
            schema.reset(store)  # a fresh store, as the SQLite default gets
        else:
            schema.migrate(store)
        processor = DagFileProcessor(  # a bench runs its DAG at once: not paused
            store,
            settings.dags_path,
            timeout=settings.parse_timeout_seconds,
            scan_every=60,
            paused_at_creation=False,
        )
        processor.sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, dag_id, created_by="bench")
        assert run_pk is not None
        # As a scheduler process starts: its executor starts the fork server once the metric,
        # span and lineage sinks are configured, with what they import preloaded. The sync
        # above started one without them (and an earlier case of this process, with its own).
        _stop_fork_server()
        scheduler = Scheduler(settings, store, LocalExecutor(settings), processor)
        try:
            scheduler.run(until=_finished_or_late(store, run_pk, time.monotonic() + timeout))
        finally:
            _stop_fork_server()
        timing = _read_timing(store, run_pk, marks)
        store.dispose()
    return timing


def _stop_fork_server() -> None:
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # type: ignore[attr-defined]


def _finished_or_late(store: Store, run_pk: int, deadline: float) -> Callable[[], bool]:
    def until() -> bool:
        if time.monotonic() > deadline:
            return True
        with store.read() as conn:
            return runs.get_run(conn, run_pk).state in (RunState.SUCCESS, RunState.FAILED)

    return until


def _read_timing(store: Store, run_pk: int, marks: Path) -> RunTiming:
    with store.read() as conn:
        run = conn.execute(select(dag_run).where(dag_run.c.id == run_pk)).one()
        rows = conn.execute(
            select(task_instance.c.task_id, task_try.c.start_date, task_try.c.end_date)
            .join(task_try, task_try.c.ti_id == task_instance.c.id)
            .where(task_instance.c.run_pk == run_pk)
        ).all()
    if run.state != RunState.SUCCESS.value:
        raise SystemExit(f"benchmark run of {run.dag_id} ended {run.state!r}: {run.note}")
    code: dict[str, tuple[float, float]] = {}
    for line in marks.read_text().splitlines():
        task_id, code_start, code_end = line.split()
        code[task_id] = (float(code_start), float(code_end))
    tries = sorted(
        (Try(r.task_id, r.start_date, r.end_date, *code[r.task_id]) for r in rows),
        key=lambda t: t.start,
    )
    first = min(t.start for t in tries)
    last = max(t.end for t in tries)
    return RunTiming(
        dag_id=run.dag_id,
        state=run.state,
        run_seconds=(run.end_date - run.start_date).total_seconds(),
        tries_seconds=(last - first).total_seconds(),
        tries=tries,
    )


# -- metrics -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; enough for a few dozen samples."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def chain_hops(timing: RunTiming) -> list[float]:
    """A chain's hops in order: one task's code end to the next one's code start."""
    by_task = sorted(timing.tries, key=lambda t: t.task_id)  # t0000, t0001, ...
    return [after.code_start - before.code_end for before, after in itertools.pairwise(by_task)]


def chain_metrics(timing: RunTiming) -> dict[str, float]:
    by_task = sorted(timing.tries, key=lambda t: t.task_id)  # t0000, t0001, ...
    pairs = list(itertools.pairwise(by_task))
    hops = chain_hops(timing)
    recorded = [(after.start - before.end).total_seconds() for before, after in pairs]
    inside = [(t.end - t.start).total_seconds() for t in by_task]
    return {
        "chain_run_seconds": timing.run_seconds,
        "chain_tries_seconds": timing.tries_seconds,
        "chain_seconds_per_task": timing.tries_seconds / len(by_task),
        "chain_hop_mean": statistics.fmean(hops),
        "chain_hop_median": statistics.median(hops),
        "chain_hop_p95": percentile(hops, 95),
        # The recorded end of one try to the recorded start of the next: the store's part.
        "chain_recorded_hop_median": statistics.median(recorded),
        "chain_try_median": statistics.median(inside),
    }


def hop_by_tenth(timing: RunTiming) -> list[float]:
    """A chain's hop p50 in each tenth of the chain, in order: whether the hop drifts as the
    chain goes on, or moves in blocks."""
    hops = chain_hops(timing)
    step = max(-(-len(hops) // 10), 1)  # rounded up: ten parts at most
    return [statistics.median(hops[start : start + step]) for start in range(0, len(hops), step)]


def fanout_metrics(timing: RunTiming) -> dict[str, float]:
    n = len(timing.tries)
    return {
        "fanout_run_seconds": timing.run_seconds,
        "fanout_tries_seconds": timing.tries_seconds,
        "fanout_tasks_per_second": n / timing.tries_seconds,
        "fanout_seconds_per_task": timing.tries_seconds / n,
    }


def folder_and_file(samples: int = 200) -> float:
    """Median wall time to make a folder and an empty file in it, beside the runs' homes:
    what each try does for its log. After many files were removed nearby, ext4 without a
    journal makes each one many times slower for minutes (see :func:`run_home`), and every
    try pays it; this figure tells a run measured in that state. What it makes is removed
    with the homes, at the end, so that measuring it slows nothing after it."""
    times = []
    with run_home("conveyor-bench-disk-") as home:
        for index in range(samples):
            started = time.perf_counter()
            private_file(Path(home) / f"t{index:04d}" / "try-1.log")  # a try's log, made so
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def interpreter_start(code: str, samples: int) -> float:
    """Median wall time of ``python -c code`` in a fresh interpreter."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- report --------------------------------------------------------------------------------

#: (key, label, unit); seconds are also shown as a ratio to a bare interpreter start.
ROWS = [
    ("python_bare_start", "python -c pass", "s"),
    ("python_import_runner", "python -c 'import conveyor.worker.runner'", "s"),
    ("chain_hop_median", "chain: hop between two tasks, median", "s"),
    ("chain_hop_mean", "chain: hop between two tasks, mean", "s"),
    ("chain_hop_p95", "chain: hop between two tasks, p95", "s"),
    ("chain_recorded_hop_median", "chain: recorded end to next recorded start, median", "s"),
    ("chain_try_median", "chain: one try start to end, median", "s"),
    ("chain_seconds_per_task", "chain: wall time per task", "s"),
    ("chain_tries_seconds", "chain: first try start to last try end", "s"),
    ("chain_run_seconds", "chain: run start to run end", "s"),
    ("fanout_seconds_per_task", "fanout: wall time per task (1 / throughput)", "s"),
    ("fanout_tries_seconds", "fanout: first try start to last try end", "s"),
    ("fanout_run_seconds", "fanout: run start to run end", "s"),
    ("fanout_tasks_per_second", "fanout: tasks per second", "1/s"),
]


def summarize(samples: list[dict[str, float]]) -> dict[str, float]:
    """The median of each metric over the repeats."""
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def print_table(result: dict[str, Any]) -> None:
    m = result["median"]
    bare = m["python_bare_start"]
    print(
        f"\nconveyor local executor, {result['store']} store; chain {result['chain']} tasks, "
        f"fanout {result['fanout']} tasks, parallelism {result['parallelism']}, "
        f"median of {result['repeat']} run(s)\n"
    )
    width = max(len(label) for _, label, _ in ROWS)
    print(f"{'metric':<{width}}  {'value':>12}  {'/ python start':>14}")
    print(f"{'-' * width}  {'-' * 12}  {'-' * 14}")
    for key, label, unit in ROWS:
        if key not in m:
            continue
        value = m[key]
        ratio = f"{value / bare:14.2f}" if unit == "s" else f"{'':14}"
        shown = f"{value * 1000:9.1f} ms" if unit == "s" else f"{value:9.1f} /s"
        print(f"{label:<{width}}  {shown:>12}  {ratio}")
    if "chain_hop_median" in m:
        verdict = "met" if m["chain_hop_median"] < bare else "NOT met"
        print(f"\ntarget: a hop costs less than starting one interpreter (ratio < 1): {verdict}")
    print(
        f"the figures to aim past on these machines: about {AIM_PAST_HOP_SECONDS:g} s between "
        f"two chained tasks, about {AIM_PAST_FANOUT_TASKS_PER_SECOND:g} tasks/s fan-out"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=50, help="tasks in the chain (0: skip)")
    parser.add_argument("--fanout", type=int, default=200, help="parallel tasks (0: skip)")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each DAG; medians shown")
    parser.add_argument(
        "--loop-seconds", type=float, default=1.0, help="scheduler_loop_seconds (the safety net)"
    )
    parser.add_argument("--samples", type=int, default=20, help="interpreter starts to time")
    parser.add_argument("--timeout", type=float, default=600, help="give up on a run after this")
    parser.add_argument(
        "--database-url",
        help="use this store (e.g. postgresql://...) instead of a fresh SQLite file; "
        "ITS CONVEYOR TABLES ARE DROPPED before each run",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    samples: list[dict[str, float]] = []
    for _ in range(args.repeat):
        sample: dict[str, float] = {
            "python_bare_start": interpreter_start("pass", args.samples),
            "python_import_runner": interpreter_start(
                "import conveyor.worker.runner", max(args.samples // 2, 3)
            ),
        }
        options = {
            "parallelism": args.parallelism,
            "loop_seconds": args.loop_seconds,
            "timeout": args.timeout,
            "database_url": args.database_url,
        }
        if args.chain > 1:
            source = CHAIN_DAG.format(n=args.chain)
            sample.update(chain_metrics(run_dag("bench_chain", source, **options)))
        if args.fanout > 0:
            source = FANOUT_DAG.format(n=args.fanout, limit=args.fanout + 2)
            sample.update(fanout_metrics(run_dag("bench_fanout", source, **options)))
        samples.append(sample)
        if not args.json:
            print(f"repeat {len(samples)}/{args.repeat}: " + _brief(sample), file=sys.stderr)

    result = {
        "chain": args.chain,
        "fanout": args.fanout,
        "parallelism": args.parallelism,
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "store": "sqlite" if not args.database_url else args.database_url.split(":", 1)[0],
        "cpus": os.cpu_count(),
        "median": summarize(samples),
        "samples": samples,
        "reference": asdict(_Reference()),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


@dataclass(frozen=True)
class _Reference:
    aim_past_hop_seconds: float = AIM_PAST_HOP_SECONDS
    aim_past_fanout_tasks_per_second: float = AIM_PAST_FANOUT_TASKS_PER_SECOND


def _brief(sample: dict[str, float]) -> str:
    parts = [f"python start {sample['python_bare_start'] * 1000:.0f} ms"]
    if "chain_hop_median" in sample:
        parts.append(f"hop median {sample['chain_hop_median'] * 1000:.0f} ms")
    if "fanout_tasks_per_second" in sample:
        parts.append(f"fanout {sample['fanout_tasks_per_second']:.1f} tasks/s")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
