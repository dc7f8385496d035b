"""The session settings Conveyor's PostgreSQL connections carry (``Settings.db_url``): a
transaction left idle is ended by the server, and its locks with it; a dead link is noticed
on both ends. On a real PostgreSQL server."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy.exc import OperationalError

from conveyor.config import load_config, with_link_settings
from conveyor.store.engine import Store

pytestmark = pytest.mark.postgres


def _store(tmp_path: Path, url: str, **variables: str) -> Store:
    env = {
        "CONVEYOR_HOME": str(tmp_path),
        "CONVEYOR_DATABASE_URL": url,
        **{f"CONVEYOR_{k.upper()}": v for k, v in variables.items()},
    }
    return Store(load_config(env).settings.db_url)


def test_the_server_and_libpq_get_the_defaults(tmp_path: Path, pg_database_url: str) -> None:
    store = _store(tmp_path, pg_database_url)
    try:
        with store.read() as conn:
            shown = {
                name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                for name in (
                    "idle_in_transaction_session_timeout",
                    "tcp_keepalives_idle",
                    "tcp_keepalives_interval",
                    "tcp_keepalives_count",
                    "tcp_user_timeout",
                )
            }
            dsn = conn.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]
        assert shown == {
            "idle_in_transaction_session_timeout": "30s",
            "tcp_keepalives_idle": "10",
            "tcp_keepalives_interval": "5",
            "tcp_keepalives_count": "4",
            "tcp_user_timeout": "30000",  # milliseconds, shown without a unit
        }
        for part in ("keepalives_idle=10", "keepalives_interval=5", "tcp_user_timeout=30000"):
            assert part in dsn
        assert "keepalives" not in store.describe()
    finally:
        store.dispose()


def test_an_idle_transaction_is_ended_and_its_locks_freed(
    tmp_path: Path, pg_database_url: str
) -> None:
    store = _store(tmp_path, pg_database_url, store_idle_transaction_seconds="0.5")
    other = Store(pg_database_url)
    try:
        with pytest.raises(OperationalError), store.write() as silent:
            silent.exec_driver_sql("SELECT pg_advisory_xact_lock(4711)")
            with other.read() as conn:
                taken = conn.exec_driver_sql("SELECT pg_try_advisory_xact_lock(4711)")
                assert taken.scalar_one() is False  # held while the transaction is alive
            time.sleep(1.5)  # the process goes quiet mid-transaction
            with other.read() as conn:
                taken = conn.exec_driver_sql("SELECT pg_try_advisory_xact_lock(4711)")
                assert taken.scalar_one() is True  # the server ended it: the lock is free
            silent.exec_driver_sql("SELECT 1")  # its next statement learns so
        with store.read() as conn:  # and the store carries on on a new connection
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        store.dispose()
        other.dispose()


def test_zero_turns_them_off_and_the_url_wins() -> None:
    url = "postgresql://u@h/db?keepalives_idle=99&options=-c%20statement_timeout%3D5s"
    assert with_link_settings(url, idle_transaction_seconds=0, dead_link_seconds=0) == url
    made = dict(
        parse_qsl(
            urlsplit(
                with_link_settings(url, idle_transaction_seconds=2, dead_link_seconds=12)
            ).query
        )
    )
    assert made["keepalives_idle"] == "99"  # the URL's own value stays
    assert made["keepalives_interval"] == "2"
    assert made["tcp_user_timeout"] == "12000"
    # The URL's own options come last: PostgreSQL applies them after Conveyor's.
    assert made["options"].startswith("-c idle_in_transaction_session_timeout=2000 ")
    assert made["options"].endswith(" -c statement_timeout=5s")
    sqlite = "sqlite:///x.db"
    assert with_link_settings(sqlite, idle_transaction_seconds=2, dead_link_seconds=9) == sqlite
