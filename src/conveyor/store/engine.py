"""Connections to the metadata store: SQLite (the embedded default) or PostgreSQL.

SQLite is made safe for several processes at once: WAL so readers never block the writer,
a busy timeout so writers wait instead of failing, and ``BEGIN IMMEDIATE`` for write
transactions, because a deferred transaction that upgrades to a write lock fails at once
with "database is locked" instead of waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, StaticPool

from conveyor.exceptions import ConfigError

_READ_ONLY = "conveyor_read_only"


def normalize_url(url: str) -> str:
    """Accept a plain ``postgresql://`` URL and pick the psycopg 3 driver for it."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"database_url: unsupported database {parsed.drivername!r} in "
            f"{parsed.render_as_string(hide_password=True)}; use sqlite:/// or postgresql://"
        )
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Store:
    """The engine and the two ways in: :meth:`write` and :meth:`read` transactions."""

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.in_memory = self.is_sqlite and parsed.database in (None, "", ":memory:")
        if self.in_memory:
            # One connection shared by everything in this process: the data lives in it.
            self.engine = create_engine(
                self.url,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        elif self.is_sqlite:
            Path(str(parsed.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url, poolclass=None if pool else NullPool, connect_args={"timeout": 30}
            )
        else:
            options: dict[str, Any] = {"pool_pre_ping": True}
            if pool:
                options.update(pool_size=5, max_overflow=10)
            else:
                options["poolclass"] = NullPool
            self.engine = create_engine(self.url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine, in_memory=self.in_memory)

    @property
    def supports_row_locks(self) -> bool:
        return not self.is_sqlite

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write; committed when the block ends without error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that only reads (on SQLite, it does not take the write lock)."""
        with self.engine.connect() as raw:
            conn = raw.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)
