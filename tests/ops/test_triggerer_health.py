"""Triggerers in `conveyor health`, `/health`, `/api/v1/triggerers` and `conveyor
triggerers`: a real `conveyor triggerer` process on both stores, and a crashed one's row."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ops_helpers import CONVEYOR, add_dead_process, conveyor, store_env, wait_until

from conftest import make_settings
from conveyor.health import check
from conveyor.store.engine import Store
from conveyor.store.tables import triggerer
from conveyor.web.app import create_app


def _add_triggerer(store: Store, name: str, beat_ago: timedelta) -> None:
    add_dead_process(store, triggerer, name, beat_ago, pid=4343, capacity=1000, running=2)


def _triggerers_detail(settings: object) -> tuple[bool, str]:
    report = check(settings, only=["triggerers"])  # type: ignore[arg-type]
    item = report.as_dict()["checks"]["triggerers"]
    return item["ok"], item["detail"]


@pytest.mark.timeout(300)  # four CLI processes and a triggerer on a loaded machine
def test_a_running_triggerer_is_shown_alive_then_stopped(tmp_path: Path, store_url: str) -> None:
    env = store_env(tmp_path, store_url, heartbeat_seconds="0.5")
    settings = make_settings(tmp_path, tmp_path / "dags", store_url, heartbeat_seconds=0.5)
    ok, detail = _triggerers_detail(settings)
    assert ok and detail.startswith("none running")  # only deferred tries need one

    process = subprocess.Popen(
        [CONVEYOR, "triggerer"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: "1 alive" in _triggerers_detail(settings)[1], 60, "a live triggerer")
        ok, detail = _triggerers_detail(settings)
        assert ok and f"pid {process.pid}" in detail and "triggers" in detail
        shown = conveyor(env, "health", "--only", "triggerers")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "1 alive" in shown.stdout

        listed = conveyor(env, "triggerers", "--output", "json")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        (row,) = json.loads(listed.stdout)["triggerers"]
        assert row["pid"] == process.pid and row["alive"] is True and row["stopped_at"] is None

        store = Store(store_url)
        with TestClient(create_app(settings, store)) as client:
            body = client.get("/health").json()
            assert "1 alive" in body["checks"]["triggerers"]["detail"]
        store.dispose()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    ok, detail = _triggerers_detail(settings)
    assert ok and detail.startswith("none running")  # it recorded its stop
    table = conveyor(env, "triggerers")
    assert table.returncode == 0 and "stopped" in table.stdout, table.stdout + table.stderr


def test_triggerers_that_all_went_stale_make_the_check_fail(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", store_url, heartbeat_seconds=5)
    store = Store(store_url)
    _add_triggerer(store, "crashed-one", timedelta(minutes=10))

    ok, detail = _triggerers_detail(settings)
    assert not ok
    assert "0 alive" in detail and "stale" in detail and "elsewhere pid 4343" in detail

    _add_triggerer(store, "alive-one", timedelta(seconds=1))
    ok, detail = _triggerers_detail(settings)
    assert ok and "1 alive" in detail and "2/1000 triggers" in detail and "stale" in detail
    store.dispose()
