"""The store's PostgreSQL primary dies and its streaming standby is promoted under a running
cluster: schedulers, Celery workers and the web reconnect, nothing is lost or run twice.

Two servers of the test's own (``private_postgres``): a primary, and a standby made with
``pg_basebackup -R`` that streams from it. Replication is synchronous (the primary's
``synchronous_standby_names`` names the standby's walreceiver; given on the primary's command
line only, so the promoted standby does not wait for a partner that is gone): a commit
Conveyor was told of is on the standby, as on a managed PostgreSQL with synchronous
replicas. Every Conveyor process reaches the store through a TCP proxy the test controls,
the address that a managed service moves to the new primary.

The failover, as a real one goes: the primary's postmaster is SIGKILLed mid-run; the proxy
moves to the standby at once, which answers read-only for a while ("cannot execute ... in a
read-only transaction", which Conveyor treats as an unreachable store); then the standby is
promoted, and work must resume within 30 s.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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
    tally,
    wait_for,
    why_lost,
)
from private_postgres import PrivatePostgres, free_port, new_server, new_standby
from tcp_proxy import TcpProxy

from conveyor.store import schema
from conveyor.store.engine import Store

RESUME_LIMIT_SECONDS = 30.0
#: How long the address answers from the standby before it is promoted.
READ_ONLY_SECONDS = 3.0


@dataclass
class ReplicatedStore:
    primary: PrivatePostgres
    standby: PrivatePostgres
    proxy: TcpProxy

    @property
    def url(self) -> str:
        return self.primary.url("conveyor", port=self.proxy.port)


@pytest.fixture
def replicated_store() -> Iterator[ReplicatedStore]:
    primary = new_server("-c synchronous_standby_names=walreceiver -c synchronous_commit=on")
    standby: PrivatePostgres | None = None
    proxy: TcpProxy | None = None
    try:
        standby = new_standby(primary)
        # Every commit from here waits for the standby: it is streaming.
        with psycopg.connect(primary.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE conveyor")
            state = conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall()
        assert state == [("sync",)], f"the standby is not a synchronous one: {state}"
        store = Store(primary.url("conveyor"))
        schema.migrate(store)
        store.dispose()
        proxy = TcpProxy(primary.port)
        yield ReplicatedStore(primary, standby, proxy)
    finally:
        if proxy is not None:
            proxy.close()
        if standby is not None:
            standby.remove()
        primary.remove()


def _health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as failed:
        return failed.code, json.loads(failed.read())
    except OSError as exc:
        return 0, {"error": str(exc)}


def _store_check(port: int) -> str:
    _, body = _health(port)
    store = body.get("checks", {}).get("store", {})  # type: ignore[attr-defined]
    return str(store.get("detail", body))


def _executions(cluster: Cluster) -> int:
    return len(cluster.count_file.read_text().splitlines()) if cluster.count_file.exists() else 0


def _logs_say(cluster: Cluster, text: str) -> bool:
    return any(text in path.read_text(errors="replace") for path in cluster.tmp.glob("*.log"))


@pytest.mark.timeout(300)
def test_failing_over_to_the_standby_loses_and_repeats_nothing(
    tmp_path: Path, replicated_store: ReplicatedStore
) -> None:
    pg, proxy = replicated_store, replicated_store.proxy
    cluster = make_cluster(tmp_path, pg.url, width=40, length=40, ticks=4)
    web_port = free_port()
    with running(cluster, kill_at_end=True):
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_scheduler("s1")
        cluster.start_scheduler("s2")
        cluster.start_web("web", web_port)
        wait_for(dag_parsed(cluster.store, {"wide", "chain", "ticks"}), 60, "DAGs parsed", cluster)
        for dag_id in ("wide", "chain"):
            cluster.trigger(dag_id)
        wait_for(links_started(cluster, 8), 60, "the chain under way", cluster)
        wait_for(lambda: _health(web_port)[0] == 200, 30, "the web healthy", cluster)
        cluster.store.dispose()

        killed = time.monotonic()
        pg.primary.kill()
        proxy.point_at(pg.standby.port)  # the address answers again, from a standby
        wait_for(
            lambda: _logs_say(cluster, "read-only transaction"),
            30,
            "a process meeting the read-only standby",
            cluster,
        )
        read_only_health = _store_check(web_port)
        time.sleep(max(0.0, READ_ONLY_SECONDS - (time.monotonic() - killed)))  # the fault lasts
        executions_before = _executions(cluster)
        pg.standby.run("pg_ctl", "-D", str(pg.standby.data), "-w", "promote")
        promoted = time.monotonic()
        resumed = wait_for(
            lambda: _executions(cluster) > executions_before,
            RESUME_LIMIT_SECONDS,
            "a new try started on the promoted standby",
            cluster,
        )
        healthy_after = wait_for(
            lambda: _health(web_port)[0] == 200, 30, "the web healthy again", cluster
        )
        took = wait_for(all_runs_finished(cluster.store, 2 + 4), 120, "every run", cluster)

        counted = tally(cluster)
        states = runs_by_state(cluster.store)
        processes = [
            *cluster.schedulers.values(),
            *cluster.workers.values(),
            *cluster.webs.values(),
        ]
        report(
            "PostgreSQL primary killed, standby promoted behind the proxy",
            read_only_phase_s=f"{promoted - killed:.1f}",
            web_store_check_while_read_only=read_only_health,
            seconds_to_first_new_try_after_promotion=f"{resumed:.1f}",
            seconds_to_web_healthy_after_promotion=f"{healthy_after + resumed:.1f}",
            seconds_to_finish_after_promotion=f"{time.monotonic() - promoted:.1f}",
            runs=dict(states),
            executions=counted.executions,
            tasks_run_twice=len(counted.twice),
            tasks_lost=len(counted.lost),
        )
        del took
        assert all(p.poll() is None for p in processes), "a process died in the failover"
        assert counted.twice == [], f"ran twice: {counted.twice}"
        assert counted.lost == [], why_lost(cluster, counted)
        assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"
        # What the processes said meanwhile: the store unreachable, then reachable again.
        assert _logs_say(cluster, "the store is unreachable"), cluster.log_tail()
        assert _logs_say(cluster, "the store is reachable again"), cluster.log_tail()
        assert "read-only" in read_only_health, read_only_health
