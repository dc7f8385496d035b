"""One process cut off from the store while its peers are not: the others carry on, and
nothing runs twice when the link returns.

Two schedulers and two Celery workers run on a PostgreSQL store, each through a TCP proxy of
its own (``tcp_proxy.TcpProxy``), so the test can cut one process off alone; the broker stays
reachable to all. In turn, worker ``w1`` and then scheduler ``s1`` lose the store for a few
seconds (less than ``zombie_after_seconds``, 20 s here, and the worker's fence at 15 s), in one
of three ways:

- ``drop``: the link goes silent, nothing is closed (half-open) and no packet of the
  process's connections passes (iptables, root only); what was sent arrives when the link
  returns, as TCP's retransmissions deliver it. The server ends the silent process's sessions
  (``store_idle_transaction_seconds``, ``store_dead_link_seconds``), which frees its locks;
- ``refuse``: every connection is cut and new ones are closed at once;
- ``delay``: every chunk waits 50 ms (a slow, far link) for the whole fault.

The peer must keep working meanwhile (tries start while ``w1`` is cut off; ``s2`` keeps
scheduling while ``s1`` is), and every task must run exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

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
    tally,
    wait_for,
    why_lost,
)
from sqlalchemy import select
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy, can_silence

from conveyor.store.tables import dag_run

CUT_SECONDS = 6.0  # under the worker's fence and zombie_after: its tries are not stopped
ZOMBIE_AFTER_SECONDS = 20.0
#: A silent process's transaction ends this long after its last statement reached the server
#: (``store_idle_transaction_seconds``), and its row locks with it: well inside the cut.
IDLE_TRANSACTION_SECONDS = 1.5
#: A silent link's connections are declared dead on both ends this long after its last
#: answer (``store_dead_link_seconds``): what frees a session the server holds mid-exchange
#: (a pipeline whose Sync had not arrived), which no idle timeout ends.
DEAD_LINK_SECONDS = 3.0


@pytest.fixture
def proxies(pg_database_url: str) -> Iterator[dict[str, TcpProxy]]:
    port = make_url(pg_database_url).port or 5432
    made = {name: TcpProxy(port) for name in ("s1", "s2", "w1", "w2")}
    try:
        yield made
    finally:
        for proxy in made.values():
            proxy.close()


def _through(url: str, proxy: TcpProxy) -> str:
    return make_url(url).set(port=proxy.port).render_as_string(hide_password=False)


def _fault(proxy: TcpProxy, kind: str) -> None:
    if kind == "drop":
        proxy.drop()
    elif kind == "refuse":
        proxy.refuse()
    else:
        proxy.delay = 0.05


def _heal(proxy: TcpProxy) -> None:
    proxy.delay = 0.0
    proxy.forward()


def _executions(cluster: Cluster) -> int:
    return len(cluster.count_file.read_text().splitlines()) if cluster.count_file.exists() else 0


def _lines(cluster: Cluster) -> list[str]:
    return cluster.count_file.read_text().splitlines() if cluster.count_file.exists() else []


def _sessions(cluster: Cluster) -> dict[str, int]:
    """The store's server sessions by state, those waiting on a lock counted apart."""
    with cluster.store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT CASE WHEN wait_event_type = 'Lock' THEN 'waiting on a lock' ELSE state END,"
            " count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() GROUP BY 1"
        ).all()
    return {str(state): int(n) for state, n in rows}


def _run_ids(cluster: Cluster) -> set[str]:
    with cluster.store.read() as conn:
        return set(conn.execute(select(dag_run.c.run_id)).scalars())


def _start_through(cluster: Cluster, name: str, url: str, proxy: TcpProxy) -> None:
    base = cluster.env
    cluster.env = {**base, "CONVEYOR_DATABASE_URL": _through(url, proxy)}
    try:
        if name.startswith("s"):
            cluster.start_scheduler(name)
        else:
            cluster.start_worker(name)
    finally:
        cluster.env = base


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "kind",
    [
        "drop",
        "refuse",
        "delay",
    ],
)
def test_one_process_cut_off_from_the_store_loses_and_repeats_nothing(
    tmp_path: Path, pg_database_url: str, proxies: dict[str, TcpProxy], kind: str
) -> None:
    if kind == "drop" and not can_silence():
        pytest.skip("a silent link drops its packets with iptables: root only")
    cluster = make_cluster(tmp_path, pg_database_url, width=40, length=30, ticks=0)
    cluster.env["CONVEYOR_STORE_IDLE_TRANSACTION_SECONDS"] = f"{IDLE_TRANSACTION_SECONDS:g}"
    cluster.env["CONVEYOR_STORE_DEAD_LINK_SECONDS"] = f"{DEAD_LINK_SECONDS:g}"
    # The worker fences itself (stops its tries) after 15 s without a heartbeat: the 6 s cut,
    # and the seconds TCP's backoff adds to a reconnection after a silent one, stay under it,
    # so its tries go on (tests/fault/test_worker_fence.py cuts longer).
    cluster.env["CONVEYOR_ZOMBIE_AFTER_SECONDS"] = f"{ZOMBIE_AFTER_SECONDS:g}"
    cluster.env["CONVEYOR_WORKER_FENCE_FRACTION"] = "0.75"
    with running(cluster, kill_at_end=True):
        for name, proxy in proxies.items():
            _start_through(cluster, name, pg_database_url, proxy)
        wait_for(dag_parsed(cluster.store, {"wide", "chain"}), 60, "DAGs parsed", cluster)
        cluster.trigger("chain")
        cluster.trigger("wide")
        # Cut while the wide run's parts are under way: work for w2 whichever worker holds the
        # chain's next link (its message waits for requeue_after_seconds when w1 took it).
        wait_for(
            lambda: links_started(cluster, 4)() and " part_" in "\n".join(_lines(cluster)),
            60,
            "the chain and the wide run under way",
            cluster,
        )

        # The worker w1 alone loses the store; w2 must go on starting tries meanwhile.
        before = _executions(cluster)
        _fault(proxies["w1"], kind)
        time.sleep(CUT_SECONDS)  # the fault lasts
        during_worker_cut = _executions(cluster) - before
        sessions = _sessions(cluster)
        _heal(proxies["w1"])

        # The scheduler s1 alone loses the store; a new run, which only a scheduler starts,
        # must be started by s2 meanwhile.
        _fault(proxies["s1"], kind)
        cut = time.monotonic()
        known = _run_ids(cluster)
        cluster.trigger("chain")
        s2_started = wait_for(
            lambda: any(line.split()[1] not in known for line in _lines(cluster)),
            30,
            "a run started by s2 while s1 is cut off",
            cluster,
        )
        time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut)))  # the fault lasts
        _heal(proxies["s1"])
        healed = time.monotonic()

        wait_for(all_runs_finished(cluster.store, 3), 120, "every run", cluster)
        took = time.monotonic() - healed
        counted = tally(cluster)
        states = runs_by_state(cluster.store)
        processes = [*cluster.schedulers.values(), *cluster.workers.values()]
        report(
            f"one process cut off from the store ({kind}, {CUT_SECONDS:g} s each)",
            tries_started_while_w1_was_cut_off=during_worker_cut,
            server_sessions_at_the_end_of_w1s_cut=sessions,
            seconds_to_start_a_run_while_s1_was_cut_off=f"{s2_started:.1f}",
            seconds_to_finish_after_the_last_heal=f"{took:.1f}",
            runs=dict(states),
            executions=counted.executions,
            tasks_run_twice=len(counted.twice),
            tasks_lost=len(counted.lost),
        )
        assert all(p.poll() is None for p in processes), "a process died of the cut"
        assert during_worker_cut > 0, "no try started while one worker was cut off"
        assert counted.twice == [], f"ran twice: {counted.twice}"
        assert counted.lost == [], why_lost(cluster, counted)
        assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"
