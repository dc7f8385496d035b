"""Restart PostgreSQL under running schedulers and workers: they reconnect and carry on.

The test starts a PostgreSQL server of its own (``initdb`` and ``pg_ctl`` from the machine's
PostgreSQL packages, on a free port), so stopping it disturbs nothing else on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from faultlib import (
    Cluster,
    all_runs_finished,
    dag_parsed,
    links_started,
    make_cluster,
    report,
    running,
    runs_by_state,
    runs_succeeded,
    tally,
    utc_now,
    wait_for,
    why_lost,
)
from private_postgres import PrivatePostgres, new_server
from sqlalchemy import select

from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.store.tables import task_try


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = new_server()
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE conveyor")
        store = Store(server.url("conveyor"))
        schema.migrate(store)
        store.dispose()
        yield server
    finally:
        server.remove()


def _ride_out(cluster: Cluster) -> None:
    """Workers stop their tries once their last heartbeat written is half of
    ``zombie_after_seconds`` old (the fence, docs/ha.md): a restart that lasts longer on a
    loaded machine (3 s down, then PostgreSQL's own start) must stay well under it, or the
    tries in flight are stopped as the fence means them to be. 20 s puts the fence at 10 s."""
    cluster.env["CONVEYOR_ZOMBIE_AFTER_SECONDS"] = "20"


@pytest.mark.timeout(300)
def test_restarting_postgresql_under_a_running_cluster_loses_nothing(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    cluster = make_cluster(tmp_path, private_postgres.url("conveyor"), width=40, length=40, ticks=8)
    _ride_out(cluster)
    with running(cluster, kill_at_end=True):
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_scheduler("s1")
        cluster.start_scheduler("s2")
        wait_for(dag_parsed(cluster.store, {"wide", "chain", "ticks"}), 60, "DAGs parsed", cluster)
        for dag_id in ("wide", "chain"):
            cluster.trigger(dag_id)
        wait_for(links_started(cluster, 8), 60, "the chain under way", cluster)
        cluster.store.dispose()  # the test's own connections must not hold the server up
        stopped = time.monotonic()
        private_postgres.restart(down=3)  # every connection is cut, transactions in flight fail
        outage = time.monotonic() - stopped
        took = wait_for(all_runs_finished(cluster.store, 2 + 8), 120, "every run", cluster)

        counted = tally(cluster)
        states = runs_by_state(cluster.store)
        processes = [*cluster.schedulers.values(), *cluster.workers.values()]
        report(
            "PostgreSQL restarted under the cluster",
            outage_s=f"{outage:.1f}",
            seconds_to_finish_after_restart=f"{took:.1f}",
            runs=dict(states),
            tasks_run_twice=len(counted.twice),
            tasks_lost=len(counted.lost),
        )
        assert all(p.poll() is None for p in processes), "a process died with the store"
        assert counted.twice == [], f"ran twice: {counted.twice}"
        assert counted.lost == [], why_lost(cluster, counted)
        assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"


@pytest.mark.timeout(300)
def test_restarting_postgresql_under_the_local_executors_runners_loses_nothing(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    """The local executor's long-lived runners keep pooled connections and do not test them
    before use. The server cuts them all, one runner in the middle of recording a try and
    the others idle after a wide run: each one's next transaction fails on its dead
    connection and is asked again on a new one, and every run finishes as if nothing
    happened, in the same runners."""
    cluster = make_cluster(
        tmp_path, private_postgres.url("conveyor"), width=40, length=40, ticks=4, executor="local"
    )
    _ride_out(cluster)
    with running(cluster, kill_at_end=True):
        cluster.start_scheduler("s1")
        wait_for(dag_parsed(cluster.store, {"wide", "chain", "ticks"}), 60, "DAGs parsed", cluster)
        cluster.trigger("wide")
        wait_for(runs_succeeded(cluster.store, "wide", 1), 60, "the wide run", cluster)
        cluster.trigger("chain")
        wait_for(links_started(cluster, 8), 60, "the chain under way", cluster)
        cluster.store.dispose()
        stopped = utc_now()
        private_postgres.restart(down=3)  # every runner's pooled connection is cut
        back = utc_now()
        cluster.trigger("wide")  # its tries go to the runners idle since the first one
        wait_for(all_runs_finished(cluster.store, 3 + 4), 120, "every run", cluster)

        counted = tally(cluster)
        states = runs_by_state(cluster.store)
        assert cluster.schedulers["s1"].poll() is None, "the scheduler died with the store"
        assert counted.twice == [], f"ran twice: {counted.twice}"
        assert counted.lost == [], why_lost(cluster, counted)
        assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"
        before, after = _runner_pids(cluster.store, stopped, back)
        assert len(before & after) >= 2, "the runners from before the restart did not go on"


def _runner_pids(store: Store, stopped: datetime, back: datetime) -> tuple[set[int], set[int]]:
    """The processes that started tries before the server stopped, and after it was back."""
    with store.read() as conn:
        tries = conn.execute(select(task_try.c.pid, task_try.c.start_date)).all()
    before = {t.pid for t in tries if t.start_date is not None and t.start_date < stopped}
    after = {t.pid for t in tries if t.start_date is not None and t.start_date > back}
    return before, after
