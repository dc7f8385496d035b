"""Triggerers in the cluster views: ``GET /api/v1/triggerers``, the workers page and the
home page, from the rows real triggerers leave (one beating, one that died)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from api_helpers import PREFIX, World, close, make_world

from conftest import make_settings
from conveyor.clock import utcnow
from conveyor.store.engine import Store
from conveyor.store.tables import triggerer
from conveyor.web.app import create_app


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    made = make_world(tmp_path, store_url, execute=())
    # Heartbeats every minute: the beating row stays alive however slow the machine.
    made.app.state.store.dispose()
    made.settings = make_settings(
        tmp_path, tmp_path / "dags", store_url, heartbeat_seconds=60, base_url=PREFIX
    )
    made.app = create_app(made.settings, Store(store_url))
    now = utcnow()
    with made.store.write() as conn:
        for name, ago, pid in (
            ("beating", timedelta(seconds=1), 11),
            ("dead", timedelta(hours=1), 22),
        ):
            conn.execute(
                triggerer.insert().values(
                    id=name,
                    hostname="host-a",
                    pid=pid,
                    capacity=1000,
                    running=3,
                    started_at=now - ago - timedelta(minutes=5),
                    heartbeat_at=now - ago,
                )
            )
    yield made
    close(made)


def test_the_api_lists_triggerers_with_their_liveness(world: World) -> None:
    assert world.client().get("/api/v1/triggerers").status_code == 401  # viewers and up
    body = world.client("viewer").get("/api/v1/triggerers").json()
    rows = {t["id"]: t for t in body["triggerers"]}
    assert set(rows) == {"beating", "dead"}
    assert rows["beating"]["alive"] is True and rows["dead"]["alive"] is False
    assert rows["beating"]["running"] == 3 and rows["beating"]["capacity"] == 1000
    assert rows["dead"]["pid"] == 22 and rows["dead"]["stopped_at"] is None


def test_the_workers_and_home_pages_show_triggerers(world: World) -> None:
    viewer = world.client("viewer")
    workers = viewer.get("/workers")
    assert workers.status_code == 200
    assert 'id="triggerers"' in workers.text and '"beating"' in workers.text
    home = viewer.get("/home")
    assert home.status_code == 200
    assert 'data-triggerer="beating"' in home.text and "3/1000" in home.text
