"""Connections to the metadata store: SQLite (the embedded default) or PostgreSQL.

SQLite is made safe for several processes at once: WAL so readers never block the writer,
a busy timeout so writers wait instead of failing, and ``BEGIN IMMEDIATE`` for write
transactions, because a deferred transaction that upgrades to a write lock fails at once
with "database is locked" instead of waiting.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.pool import NullPool, StaticPool

from conveyor.exceptions import ConfigError
from conveyor.private_files import private_file
from conveyor.store import sqlite_writer
from conveyor.store.hop import prepared
from conveyor.store.server_clock import follow_server_clock
from conveyor.store.sql import deferring_inserts, savepoint

_READ_ONLY = "conveyor_read_only"
log = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K")

# Code above the store types a transaction as ``conveyor.store.engine.Connection`` and catches
# the store's errors by these names, so that only store/ imports SQLAlchemy.
__all__ = ["STORE_CONFLICT", "STORE_UNREACHABLE", "Connection", "Store", "retrying"]

#: What a write that breaks a constraint or a column's type raises (a 409 / 422 in the API).
STORE_CONFLICT = (IntegrityError, DataError)

#: The part of STORE_CONFLICT that is a value the store cannot hold (a 400, not a 409).
STORE_BAD_VALUE = DataError

#: The libpq parameters ``Settings.db_url`` adds for a silent link; not shown in messages.
_LINK_PARAMETERS = (
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
)

#: PostgreSQL's "cannot execute ... in a read-only transaction".
_READ_ONLY_SQLSTATE = "25006"


class StoreReadOnly(OperationalError):
    """The server answered but cannot write: a standby not yet promoted, which a failover's
    address can reach for a while (or a former primary demoted behind an old connection).
    It is an unreachable store, not the transaction's fault: the connection is dropped and
    the transaction asked again, on a new connection, until a primary answers."""


#: What a store that went away (a restart, a failover, a network cut) raises.
STORE_UNREACHABLE = (OperationalError, InterfaceError, PendingRollbackError)


class StoreSessionEnded(OperationalError):
    """The server ended the session: a transaction stayed idle past
    ``store_idle_transaction_seconds`` (the process's link went silent, or the process
    stalled). Its transaction is rolled back and its locks are free; like a dropped
    connection, the transaction is asked again on a new one."""


#: PostgreSQL's idle_in_transaction_session_timeout and (17 and later) transaction_timeout.
_SESSION_ENDED_SQLSTATES = ("25P03", "25P04")


def _read_only_is_unreachable(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def on_error(context: Any) -> Any:
        sqlstate = getattr(context.original_exception, "sqlstate", None)
        unreachable: type[OperationalError]
        if sqlstate in _SESSION_ENDED_SQLSTATES:
            unreachable = StoreSessionEnded
        elif sqlstate == _READ_ONLY_SQLSTATE:
            unreachable = StoreReadOnly
        else:
            return None
        # The pool forgets the connection: the next one may reach the new primary (read
        # only), or one the server has not ended (session ended).
        context.is_disconnect = True
        return unreachable(
            context.statement,
            context.parameters,
            context.original_exception,
            connection_invalidated=True,
        )


def retrying(action: Callable[[], T], *, what: str, for_seconds: float = 120.0) -> T:
    """Run ``action`` (a whole transaction) again while the store is unreachable.

    Safe because every state move is guarded: a transaction that did commit before the
    connection dropped finds its move made already and does nothing the second time.
    """
    deadline = time.monotonic() + for_seconds
    pause = 0.2
    while True:
        try:
            return action()
        except STORE_UNREACHABLE as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning(
                "%s: the store is unreachable (%s); trying again in %.1fs",
                what,
                str(exc).splitlines()[0],
                pause,
            )
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


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


def hide_password(url: str) -> str:
    """A URL (the store's, a broker's) fit to show: its password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_writer.BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_READ_ONLY, False):
            conn.exec_driver_sql("BEGIN")
            return
        if in_memory or prepared.cursor_listened(conn):
            # One connection, no other writer; or tests counting statements, which see it.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        sqlite_writer.begin_write(driver, lambda: conn.exec_driver_sql("BEGIN IMMEDIATE"))


class SharedTransaction:
    """One transaction that every :meth:`Store.write` (and later :meth:`Store.read`) of a store
    joins while it is active in this context; the owner commits or rolls it back at the end.

    The web app opens one per request and commits only once the response is rendered and its
    status is known, so a request that ends in a 5xx leaves nothing behind. Each joined write
    block is a savepoint: a block that raises (an error the handler turns into a 409, say)
    undoes only its own writes.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn: Connection | None = None
        self.finished = False  # after it, blocks use their own transactions again

    def joins(self, store: Store) -> bool:
        return store is self.store and not self.finished

    def connection(self) -> Connection:
        """The shared connection, in a write transaction begun on first use."""
        if self.conn is None:
            self.conn = self.store.engine.connect()
            self.conn.begin()
            self.conn.info[_AFTER_COMMIT] = []
        return self.conn

    def finish(self, commit: bool) -> None:
        """Commit (``commit``) or roll back what the joined blocks wrote; idempotent.

        Writes after it (work a response does once sent) commit on their own."""
        self.finished = True
        conn, self.conn = self.conn, None
        if conn is None:
            return
        pending = [] if conn.invalidated else conn.info.pop(_AFTER_COMMIT, [])
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
                pending = []
        finally:
            conn.close()
        _run_after_commit(pending)


_shared: ContextVar[SharedTransaction | None] = ContextVar("conveyor_shared", default=None)

#: ``conn.info`` key of the work to do once a write transaction has committed.
_AFTER_COMMIT = "conveyor_after_commit"


def after_commit(conn: Connection, work: Callable[[], None]) -> None:
    """Do ``work`` once the write transaction of ``conn`` has committed (never if it rolls
    back): what others are told of a change (Airflow's listeners) must follow the change.
    Outside :meth:`Store.write` (a bare connection), ``work`` is not done."""
    pending = conn.info.get(_AFTER_COMMIT)
    if pending is not None:
        pending.append(work)


@contextmanager
def _unsaid_if_undone(conn: Connection) -> Iterator[None]:
    """A savepoint's work after the commit is dropped with the savepoint when its block
    raises (an API dry run, a key of ``write_each`` that failed): no one is told of a change
    that was undone, though the transaction around it commits."""
    pending = conn.info.get(_AFTER_COMMIT)
    mark = len(pending) if pending is not None else 0
    try:
        yield
    except BaseException:
        if pending is not None:
            del pending[mark:]
        raise


@contextmanager
def undone_on_error(conn: Connection) -> Iterator[None]:
    """A savepoint in a write transaction: a block that raises has its writes undone (its
    deferred inserts and its work after the commit too), and the transaction goes on."""
    with _unsaid_if_undone(conn), savepoint(conn):
        yield


def _run_after_commit(pending: list[Callable[[], None]]) -> None:
    for work in pending:
        try:
            work()
        except Exception:  # the change is committed: what follows it cannot undo it
            log.exception("work after a commit failed")


@contextmanager
def shared_transaction(store: Store) -> Iterator[SharedTransaction]:
    """Make ``store``'s writes in this context join one transaction; see SharedTransaction.

    The caller calls ``finish``; leaving the block without it rolls back.
    """
    shared = SharedTransaction(store)
    token = _shared.set(shared)
    try:
        yield shared
    finally:
        _shared.reset(token)
        shared.finish(commit=False)


class Store:
    """The engine and the two ways in: :meth:`write` and :meth:`read` transactions."""

    def __init__(
        self,
        url: str,
        *,
        pool: bool = True,
        pre_ping: bool = True,
        connect_timeout: float | None = None,
    ) -> None:
        """``pre_ping``: test a pooled PostgreSQL connection before each use. A process whose
        every transaction goes through :func:`retrying` can do without that round trip.
        ``connect_timeout``: seconds a PostgreSQL connection attempt may take (a probe's)."""
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
            # The store holds every connection and run: private to this user from the start
            # (SQLite gives its journal files the database file's mode).
            private_file(Path(str(parsed.database)).expanduser())
            self.engine = create_engine(
                self.url, poolclass=None if pool else NullPool, connect_args={"timeout": 30}
            )
        else:
            options: dict[str, Any] = {"pool_pre_ping": pre_ping}
            if connect_timeout is not None:
                options["connect_args"] = {"connect_timeout": connect_timeout}
            if pool:
                options.update(pool_size=5, max_overflow=10)
            else:
                options["poolclass"] = NullPool
            self.engine = create_engine(self.url, **options)
            follow_server_clock(self.engine)
            _read_only_is_unreachable(self.engine)
        if self.is_sqlite:
            _configure_sqlite(self.engine, in_memory=self.in_memory)

    @property
    def supports_row_locks(self) -> bool:
        return not self.is_sqlite

    @contextmanager
    def write(self, *, own: bool = False) -> Iterator[Connection]:
        """A transaction that may write; committed when the block ends without error.

        Timeline rows and other inserts deferred with :func:`insert_later` go out together
        just before the commit. Inside :func:`shared_transaction` the block joins the shared
        transaction as a savepoint, and the commit waits for the owner.

        ``own``: a transaction of its own, committed when the block ends, even inside a shared
        transaction, for bookkeeping that must hold whatever the response turns out (a login
        attempt's count, a token's last use) and must not keep the write lock while the
        request goes on. Once the shared transaction has written, the block joins it anyway:
        on SQLite a second transaction would wait for the request's own lock.
        """
        shared = _shared.get()
        if shared is not None and shared.joins(self) and (not own or shared.conn is not None):
            conn = shared.connection()
            with _unsaid_if_undone(conn), conn.begin_nested(), deferring_inserts(conn):
                yield conn
            return
        pending: list[Callable[[], None]] = []
        with self.engine.begin() as conn, deferring_inserts(conn):
            conn.info[_AFTER_COMMIT] = pending
            try:
                yield conn
            finally:
                # An invalidated connection (the server ended it) cannot reach its info
                # without a rollback first: reading it would hide the error that ended it.
                if not conn.invalidated:
                    conn.info.pop(_AFTER_COMMIT, None)
        _run_after_commit(pending)

    def write_each(
        self, keys: Iterable[K], work: Callable[[Connection, K], T]
    ) -> tuple[dict[K, T], dict[K, Exception]]:
        """``work`` for each key in one write transaction, each in a savepoint of its own:
        a key whose work raises undoes only its own writes (the rows it deferred with
        :func:`insert_later` included) and the others commit. What each key's work returned,
        and what each failed key raised; a lost store is raised, not kept."""
        done: dict[K, T] = {}
        failed: dict[K, Exception] = {}
        with self.write() as conn:
            for key in keys:
                try:
                    with _unsaid_if_undone(conn), savepoint(conn):
                        done[key] = work(conn, key)
                except STORE_UNREACHABLE:
                    raise
                except Exception as exc:
                    failed[key] = exc
        return done, failed

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that only reads (on SQLite, it does not take the write lock).

        Inside :func:`shared_transaction`, after a write, it reads in the shared transaction:
        it sees what was written and not yet committed.
        """
        shared = _shared.get()
        if shared is not None and shared.joins(self) and shared.conn is not None:
            yield shared.conn
            return
        with self.engine.connect() as raw:
            conn = raw.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    def ping(self) -> bool:
        """One round trip to the database; raises whatever the driver raises if it fails.
        Whether the server takes writes: a PostgreSQL standby not yet promoted (what a
        failover's address can answer from for a while) does not."""
        with self.read() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("SELECT 1")
                return True
            return not conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL fit to show: no password, nor the link's session settings
        (``Settings.db_url``)."""
        url = make_url(self.url)
        return url.difference_update_query(_LINK_PARAMETERS).render_as_string(hide_password=True)
