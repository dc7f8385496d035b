"""Schedulers and workers whose clocks are minutes off lose nothing and run nothing twice.

Heartbeats, "lost after" and "requeue after" compare times that different hosts wrote. The
test runs Celery workers and schedulers on a PostgreSQL store: two workers, one with its wall
clock two minutes ahead and one two minutes behind (``CONVEYOR_FAULT_HOST_CLOCK_SKEW``, far
beyond the 10 s after which a try without a heartbeat is lost), beside a scheduler on time;
then two schedulers so skewed beside a worker on time; each time a wide DAG, a chain and
tries of a few seconds run. Every process takes its times from the database server's clock
(``store/server_clock.py``), so no try may be declared lost, and every task must run once.
"""

from __future__ import annotations

import time
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
    tally,
    wait_for,
)
from sqlalchemy import select

from conveyor.store.tables import task_event

SKEW_SECONDS = 120.0

#: Tries long enough for many heartbeats and many of the scheduler's lost-try checks.
SLOW_DAG = """
import os
import time

from conveyor import DAG, task

with DAG("slow", max_active_tasks=8, default_args={{"queue": {queue!r}, "retries": 0}}):
    for i in range(4):
        @task(task_id=f"slow_{{i}}")
        def slow(ti=None):
            fd = os.open({count_file!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                line = f"{{ti.dag_id}} {{ti.run_id}} {{ti.task_id}} {{ti.try_number}}\\n"
                os.write(fd, line.encode())
            finally:
                os.close(fd)
            time.sleep(3)

        slow()
"""


def _timeline(cluster: Cluster) -> str:
    with cluster.store.read() as conn:
        rows = conn.execute(
            select(task_event.c.at, task_event.c.actor, task_event.c.message).order_by(
                task_event.c.at
            )
        ).all()
    return "\n".join(f"{r.at:%H:%M:%S.%f} {r.actor}: {r.message}" for r in rows[-40:])


def _lost_tries(cluster: Cluster) -> list[str]:
    with cluster.store.read() as conn:
        return list(
            conn.execute(
                select(task_event.c.message).where(task_event.c.message.like("%try was lost%"))
            ).scalars()
        )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("skewed", ["worker", "scheduler"])
def test_processes_with_their_clocks_minutes_off_lose_and_repeat_nothing(
    tmp_path: Path, pg_database_url: str, skewed: str
) -> None:
    """Two of one kind, one ahead and one behind, beside one of the other kind on time."""
    cluster = make_cluster(tmp_path, pg_database_url, width=16, length=6, ticks=0)
    (tmp_path / "dags" / "slow.py").write_text(
        SLOW_DAG.format(queue=cluster.queue, count_file=str(cluster.count_file))
    )
    offsets = {"ahead": SKEW_SECONDS, "behind": -SKEW_SECONDS}
    with running(cluster):
        if skewed == "worker":
            for name, offset in offsets.items():
                cluster.start_worker(f"w-{name}", clock_offset=offset)
            cluster.start_scheduler("s1")
        else:
            cluster.start_worker("w1")
            for name, offset in offsets.items():
                cluster.start_scheduler(f"s-{name}", clock_offset=offset)
        wait_for(dag_parsed(cluster.store, {"wide", "chain", "slow"}), 90, "DAGs parsed", cluster)
        started = time.monotonic()
        for dag_id in ("slow", "wide", "chain"):
            cluster.trigger(dag_id)
        wait_for(all_runs_finished(cluster.store, 3), 180, "every run finished", cluster)
        took = time.monotonic() - started
        counted = tally(cluster)
        lost = _lost_tries(cluster)
        states = runs_by_state(cluster.store)
        timeline = _timeline(cluster)
        logs = {name: (tmp_path / f"{skewed[0]}-{name}.log").read_text() for name in offsets}
    report(
        f"{skewed}s {SKEW_SECONDS:g} s ahead and behind",
        runs=dict(states),
        executions=counted.executions,
        tasks_run_twice=len(counted.twice),
        tasks_lost=len(counted.lost),
        tries_declared_lost=len(lost),
        seconds_to_finish=f"{took:.1f}",
    )
    assert lost == [], f"tries declared lost while their worker was alive: {lost}\n{timeline}"
    assert counted.twice == [], f"ran twice: {counted.twice}"
    assert counted.lost == [], f"never ran: {counted.lost}\n{timeline}"
    assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"
    for name, log in logs.items():  # each skewed process said so in its own log
        assert "this host's clock is" in log, f"{skewed} {name}:\n{log[-3000:]}"
