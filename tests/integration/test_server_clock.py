"""Each process takes its times from the PostgreSQL server's clock, whatever its host's says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor import clock
from conveyor.store import server_clock
from conveyor.store.engine import Store


@pytest.fixture
def skewed_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as on a host whose clock is five minutes behind, never measured yet."""
    monkeypatch.setattr(clock, "_host_skew", -300.0)
    monkeypatch.setattr(server_clock, "_measures", server_clock._Measures())
    yield
    clock.set_offset(0)


def _server_now(store: Store) -> datetime:
    with store.read() as conn:
        value = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


@pytest.mark.postgres
def test_a_host_minutes_behind_writes_the_servers_time(pg_url: str, skewed_host: None) -> None:
    assert abs((clock.utcnow() - datetime.now(UTC)).total_seconds() + 300) < 2
    store = Store(pg_url)
    try:
        server = _server_now(store)  # the first checkout measures
        assert abs((clock.utcnow() - server).total_seconds()) < 1
        assert abs(clock.offset_seconds() - 300) < 1
    finally:
        store.dispose()


def test_a_sqlite_store_keeps_the_hosts_clock(tmp_path: Path, skewed_host: None) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert clock.offset_seconds() == 0
    finally:
        store.dispose()


@pytest.mark.postgres
def test_the_offset_is_measured_again_only_after_a_while(pg_url: str, skewed_host: None) -> None:
    store = Store(pg_url)
    try:
        _server_now(store)
        clock.set_offset(42)  # as if measured a moment ago; the next checkout keeps it
        _server_now(store)
        assert clock.offset_seconds() == 42
    finally:
        store.dispose()
