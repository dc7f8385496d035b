"""A SQLite writer takes the write lock as soon as another connection lets it go, asking at
short intervals rather than through SQLite's busy handler (store/sqlite_writer.py); a lock
held for the whole busy timeout still fails as SQLite's does, and the connection's busy
timeout is its own again afterwards."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from conveyor.store import sqlite_writer
from conveyor.store.engine import Store


def _busy_timeout(driver: sqlite3.Connection) -> int:
    return int(driver.execute("PRAGMA busy_timeout").fetchone()[0])


def _holder(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_writer_begins_once_the_lock_is_let_go(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    holder = _holder(path)
    releaser = threading.Timer(0.3, holder.commit)
    releaser.start()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        assert sqlite_writer.begin_write(writer)
        assert writer.in_transaction
        assert not releaser.is_alive()  # it began after the holder let go, not before
        assert _busy_timeout(writer) == sqlite_writer.BUSY_MS
    finally:
        releaser.join()
        writer.rollback()
        writer.close()
        holder.close()


def test_a_lock_held_past_the_busy_timeout_fails_as_sqlite_s_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "BUSY_MS", 1_300)  # 0.3 s of asking, then the last try
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.write() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    holder = _holder(tmp_path / "store.db")
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), store.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert time.monotonic() - started >= 1.2  # asked, then left SQLite its last second
        with store.engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            assert _busy_timeout(driver) == 1_300  # its own again
    finally:
        holder.rollback()
        holder.close()
    with store.write() as conn:  # and the store writes again once the lock is free
        conn.execute(text("INSERT INTO t VALUES (2)"))
    with store.read() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [2]
    store.dispose()
