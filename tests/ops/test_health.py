"""`conveyor health` and ``conveyor.health.check``: real stores, a real broker, real processes."""

from __future__ import annotations

import gc
import json
import signal
import socket
import subprocess
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ops_helpers import CONVEYOR, add_dead_process, clean_env, conveyor, store_env, wait_until

from conftest import make_settings
from conveyor.health import check
from conveyor.store.engine import Store
from conveyor.store.tables import scheduler
from conveyor.web.app import create_app

BROKER = "redis://127.0.0.1:6379/6"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def _add_scheduler(store: Store, name: str, beat_ago: timedelta) -> None:
    add_dead_process(store, scheduler, name, beat_ago, pid=4242)


def test_a_running_scheduler_makes_the_store_healthy(tmp_path: Path, store_url: str) -> None:
    env = store_env(tmp_path, store_url, heartbeat_seconds="0.5", scheduler_loop_seconds="0.2")
    settings = make_settings(tmp_path, tmp_path / "dags", store_url, heartbeat_seconds=0.5)
    before = check(settings)
    assert not before.healthy
    assert before.as_dict()["checks"]["schedulers"]["detail"].startswith("no scheduler")

    process = subprocess.Popen(
        [CONVEYOR, "scheduler"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: check(settings).healthy, 60, "a healthy report")
        shown = conveyor(env, "health")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "1 alive" in shown.stdout
        assert all(line.startswith("ok") for line in shown.stdout.splitlines())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    after = check(settings)
    assert not after.healthy  # it stopped cleanly: no scheduler runs any more
    assert after.as_dict()["checks"]["schedulers"]["detail"].startswith("no scheduler")


def test_stale_scheduler_heartbeat_is_reported(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", store_url, heartbeat_seconds=5)
    store = Store(store_url)
    _add_scheduler(store, "crashed-one", timedelta(minutes=10))

    report = check(settings, only=["schedulers"])

    assert not report.healthy
    detail = report.as_dict()["checks"]["schedulers"]["detail"]
    assert "0 alive" in detail
    assert "stale" in detail and "elsewhere pid 4242" in detail and "last 600s ago" in detail

    _add_scheduler(store, "alive-one", timedelta(seconds=1))
    report = check(settings, only=["schedulers"])
    assert report.healthy  # one scheduler works; the dead one is still named
    detail = report.as_dict()["checks"]["schedulers"]["detail"]
    assert "1 alive" in detail and "stale" in detail
    store.dispose()


def test_unreachable_store_fails_fast_with_the_reason(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/conveyor"
    env = clean_env(tmp_path / "home", database_url=url)

    started = time.monotonic()
    shown = conveyor(env, "health")

    assert shown.returncode == 1
    assert time.monotonic() - started < 20
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("FAIL store") and "unreachable" in lines[0]
    assert "not checked: the store is unreachable" in shown.stdout


def test_schema_not_current_is_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    env = clean_env(tmp_path / "home", database_url=url)

    shown = conveyor(env, "health", "--json")

    assert shown.returncode == 1
    report = json.loads(shown.stdout)
    assert report["status"] == "unhealthy"
    assert report["checks"]["store"]["ok"] is True
    assert report["checks"]["schema"]["ok"] is False
    assert "conveyor db migrate" in report["checks"]["schema"]["detail"]


@pytest.mark.parametrize("reachable", [True, False], ids=["broker-up", "broker-down"])
def test_broker_is_checked_for_the_celery_executor(
    tmp_path: Path, store_url: str, reachable: bool
) -> None:
    broker = BROKER if reachable else f"redis://127.0.0.1:{_closed_port()}/6"
    settings = make_settings(
        tmp_path, tmp_path / "dags", store_url, executor="celery", broker_url=broker
    )

    report = check(settings, only=["broker"])

    (item,) = report.checks
    assert item.name == "broker" and item.ok is reachable
    assert ("reachable" if reachable else "unreachable") in item.detail


def test_local_executor_has_no_broker_check(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", store_url)
    assert [c.name for c in check(settings).checks] == [
        "store",
        "schema",
        "schedulers",
        "triggerers",
    ]


def test_web_health_serves_the_report(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", store_url)
    store = Store(store_url)
    with TestClient(create_app(settings, store)) as client:
        down = client.get("/health")
        assert down.status_code == 503
        assert down.json()["checks"]["schedulers"]["ok"] is False
        _add_scheduler(store, "beating", timedelta(seconds=0))
        up = client.get("/health")
        assert up.status_code == 200, up.text
        assert up.json()["status"] == "ok"
        assert set(up.json()["checks"]) == {"store", "schema", "schedulers", "triggerers"}
    store.dispose()


def test_repeated_probes_do_not_grow_memory(tmp_path: Path, store_url: str) -> None:
    """The web process probes every few seconds for weeks: a probe must leave nothing behind.

    (A new engine per probe, or asking Alembic for the head each time, kept ~20-50 KiB.)
    """
    settings = make_settings(tmp_path, tmp_path / "dags", store_url)
    for _ in range(30):
        check(settings)  # warm-up: imports, the one probe engine, caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(150):
            check(settings)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 256 * 1024, f"150 probes kept {grown / 1024:.0f} KiB"
