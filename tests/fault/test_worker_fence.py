"""A worker cut off from the store for longer than ``zombie_after_seconds`` stops its own tries
before the scheduler hands them on: no task's code runs on two workers at once. So does the
local executor of a scheduler cut off (the last case of the test).

One scheduler and two Celery workers run on a PostgreSQL store; worker ``w1`` (running every
task of the DAG) reaches it
through a TCP proxy (``tcp_proxy.TcpProxy``) that the test cuts for 16 s, past
``zombie_after_seconds`` (10 s here), either refusing every connection or dropping every
byte silently (half-open). The broker stays reachable. The tasks run 20 s each and write a
line every 0.1 s naming their task, try and worker, so what ran when is measured from the
tasks themselves: the intervals of two tries of one task must never overlap, and every task
must have finished one try.

Meanwhile ``w1`` fences itself (``worker_fence_fraction``, 0.5 of ``zombie_after_seconds``):
it stops its tries and its consumers; the scheduler declares the tries lost at 10 s and
retries them (``retries=1``), and ``w2``, started idle, runs the retries at once: unfenced,
``w1``'s tries would still be running then.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from faultlib import (
    Cluster,
    all_runs_finished,
    dag_parsed,
    make_cluster,
    report,
    running,
    runs_by_state,
    wait_for,
)
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

ZOMBIE_AFTER_SECONDS = 10.0
CUT_SECONDS = 16.0  # past zombie_after_seconds: the scheduler hands w1's tries on
TASK_SECONDS = 20.0  # longer than the cut: unfenced, w1's tries would outlive the hand-over
WIDTH = 4  # w1's 4 pool processes run them all; w2, started next, is free for the retries

LONG_DAG = """
import os
import time
from datetime import timedelta

from conveyor import DAG, task

ALIVE_FILE = {alive_file!r}


def say(fd, ti, what):
    worker = os.environ.get("FAULT_WORKER", "?")
    line = f"{{ti.task_id}} {{ti.try_number}} {{worker}} {{what}} {{time.time():.3f}}\\n"
    os.write(fd, line.encode())


with DAG(
    "long",
    max_active_tasks=64,
    default_args={{"queue": {queue!r}, "retries": 1, "retry_delay": timedelta(seconds=1)}},
) as long_dag:
    @task
    def work(ti=None):
        fd = os.open(ALIVE_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        until = time.monotonic() + {seconds}
        while time.monotonic() < until:
            say(fd, ti, "alive")
            time.sleep(0.1)
        say(fd, ti, "done")
        os.close(fd)

    [work.override(task_id=f"work_{{i}}")() for i in range({width})]
"""


@pytest.fixture
def proxy(pg_database_url: str) -> Iterator[TcpProxy]:
    made = TcpProxy(make_url(pg_database_url).port or 5432)
    try:
        yield made
    finally:
        made.close()


class Try:
    """One try of one task as its own lines tell it: when it first and last said so."""

    def __init__(self, first: float) -> None:
        self.first = first
        self.last = first
        self.done = False


def _tries(alive_file: Path) -> dict[tuple[str, int, str], Try]:
    """Every (task, try, worker) that ran, with its time span."""
    found: dict[tuple[str, int, str], Try] = {}
    lines = alive_file.read_text().splitlines() if alive_file.exists() else []
    for line in lines:
        task_id, try_number, worker, what, at = line.split()
        key = (task_id, int(try_number), worker)
        seen = found.setdefault(key, Try(float(at)))
        seen.last = max(seen.last, float(at))
        seen.done = seen.done or what == "done"
    return found


def _overlaps(tries: dict[tuple[str, int, str], Try]) -> list[str]:
    """Tasks two of whose tries ran at the same time, with both spans."""
    by_task: dict[str, list[tuple[tuple[str, int, str], Try]]] = defaultdict(list)
    for key, span in tries.items():
        by_task[key[0]].append((key, span))
    found = []
    for spans in by_task.values():
        spans.sort(key=lambda item: item[1].first)
        for (a, one), (b, other) in pairwise(spans):
            if other.first <= one.last:
                found.append(f"{a} {one.first:.1f}-{one.last:.1f} and {b} from {other.first:.1f}")
    return found


def _start(cluster: Cluster, name: str, env: dict[str, str]) -> None:
    """A worker (``w...``) or a scheduler (``s...``), its tries' lines naming it."""
    base = cluster.env
    cluster.env = {**base, **env, "FAULT_WORKER": name}
    try:
        if name.startswith("s"):
            cluster.start_scheduler(name)
        else:
            cluster.start_worker(name)
    finally:
        cluster.env = base


def _running_on(alive_file: Path, worker: str, count: int) -> bool:
    now = time.time()
    running = [
        key
        for key, span in _tries(alive_file).items()
        if key[2] == worker and not span.done and now - span.last < 0.5
    ]
    return len(running) >= count


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("executor", "kind"), [("celery", "refuse"), ("celery", "drop"), ("local", "refuse")]
)
def test_a_worker_cut_off_past_zombie_after_stops_its_tries_before_they_are_handed_on(
    tmp_path: Path, pg_database_url: str, proxy: TcpProxy, executor: str, kind: str
) -> None:
    """Celery: worker ``w1`` is cut off, ``w2`` takes what is handed on. Local: the tries run
    in scheduler ``s1``'s executor, which is cut off, and scheduler ``s2`` (whose executor
    runs the retries) declares them lost."""
    cut_off, other = ("w1", "w2") if executor == "celery" else ("s1", "s2")
    cluster = make_cluster(tmp_path, pg_database_url, width=1, length=1, ticks=0, executor=executor)
    alive_file = tmp_path / "alive.txt"
    (tmp_path / "dags" / "long.py").write_text(
        LONG_DAG.format(
            alive_file=str(alive_file), queue=cluster.queue, seconds=TASK_SECONDS, width=WIDTH
        )
    )
    cluster.env["CONVEYOR_ZOMBIE_AFTER_SECONDS"] = f"{ZOMBIE_AFTER_SECONDS:g}"
    cluster.env["CONVEYOR_STORE_IDLE_TRANSACTION_SECONDS"] = "1.5"
    through = make_url(pg_database_url).set(port=proxy.port)
    with running(cluster, kill_at_end=True):
        if executor == "celery":
            cluster.start_scheduler("s1")
        _start(cluster, cut_off, {"CONVEYOR_DATABASE_URL": through.render_as_string(False)})
        wait_for(dag_parsed(cluster.store, {"long"}), 60, "DAG parsed", cluster)
        cluster.trigger("long")
        wait_for(lambda: _running_on(alive_file, cut_off, WIDTH), 60, "every try cut off", cluster)
        _start(cluster, other, {})  # free to take whatever is handed on

        if kind == "drop":
            proxy.drop()
        else:
            proxy.refuse()
        cut = time.time()
        time.sleep(CUT_SECONDS)
        proxy.forward()
        healed = time.monotonic()

        wait_for(all_runs_finished(cluster.store, 1), 150, "every run", cluster)
        took = time.monotonic() - healed
        tries = _tries(alive_file)
        states = runs_by_state(cluster.store)
        fenced = [k for k, span in tries.items() if k[2] == cut_off and not span.done]
        stopped_after = [tries[k].last - cut for k in fenced]
        finished = {k[0] for k, span in tries.items() if span.done}
        cut_off_log = (tmp_path / f"{cut_off}.log").read_text(errors="replace")
        report(
            f"{cut_off} ({executor}) cut off from the store past zombie_after_seconds ({kind}, "
            f"{CUT_SECONDS:g} s, zombie after {ZOMBIE_AFTER_SECONDS:g} s)",
            tries_stopped_by_the_fence=len(fenced),
            seconds_from_the_cut_to_their_last_line=[f"{s:.1f}" for s in sorted(stopped_after)],
            tasks_run_twice_at_once=len(_overlaps(tries)),
            tasks_finished=f"{len(finished)} of {WIDTH}",
            tries_run=len(tries),
            seconds_to_finish_after_the_heal=f"{took:.1f}",
            runs=dict(states),
        )
        processes = [*cluster.schedulers.values(), *cluster.workers.values()]
        assert all(p.poll() is None for p in processes), "a process died of the cut"
        assert _overlaps(tries) == [], f"ran on two workers at once: {_overlaps(tries)}"
        assert len(fenced) == WIDTH, f"{cut_off} stopped {len(fenced)} of its {WIDTH} tries"
        assert max(stopped_after) < ZOMBIE_AFTER_SECONDS, "a try outlived the fence"
        assert len(finished) == WIDTH, f"never finished: {WIDTH - len(finished)} tasks"
        assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"
        assert "no heartbeat written for" in cut_off_log, f"{cut_off} did not fence itself"
        if executor == "celery":  # after a silent cut, once TCP's backoff lets it through
            log = tmp_path / "w1.log"

            def back() -> bool:
                return "taking tries again" in log.read_text(errors="replace")

            wait_for(back, 60, "w1 taking tries again", cluster)
