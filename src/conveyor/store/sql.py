"""Small SQL helpers: most differ between SQLite and PostgreSQL; ``column_values`` is the
one-column query many stores ask."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, select

from conveyor.store.hop import prepared

T = TypeVar("T")


def column_values(
    conn: Connection, column: ColumnElement[T], *where: ColumnElement[bool]
) -> list[T]:
    """The values of ``column`` in the rows that meet every condition of ``where``."""
    return list(conn.execute(select(column).where(*where)).scalars())


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    key: Iterable[str],
    update: Iterable[str] | None = None,
) -> None:
    """INSERT, or on a conflict on ``key`` UPDATE ``update`` (default: all other columns)."""
    key = tuple(key)
    columns = tuple(update) if update is not None else tuple(c for c in values if c not in key)
    stmt = _upsert_statement(conn.dialect.name, table, key, columns)
    conn.execute(stmt, dict(values))


@functools.lru_cache(maxsize=256)
def _upsert_statement(
    dialect: str, table: Table, key: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    """One statement per shape, built once: building it costs more than running it. The
    dialect's module is imported here: a process on SQLite never loads PostgreSQL's."""
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(table)
    else:
        from sqlalchemy.dialects import sqlite

        stmt = sqlite.insert(table)
    if update:
        return stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in update}
        )
    return stmt.on_conflict_do_nothing(index_elements=list(key))


_DEFERRED = "conveyor_deferred_inserts"


def insert_later(conn: Connection, table: Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` just before the transaction commits, batched with the others.

    Inside :meth:`Store.write` the rows of a table go out as one multi-row INSERT, a round
    trip per table instead of one per row; elsewhere the row is inserted at once.
    """
    pending: list[tuple[Table, Mapping[str, Any]]] | None = conn.info.get(_DEFERRED)
    if pending is None:
        conn.execute(table.insert().values(**row))
    else:
        pending.append((table, row))


@contextmanager
def deferring_inserts(conn: Connection) -> Iterator[None]:
    """Keep the rows :func:`insert_later` is given in the block, and send them once it ends
    without an error (:meth:`Store.write`'s transactions, whole or nested)."""
    conn.info[_DEFERRED] = []
    try:
        yield
        _flush_deferred(conn)
    finally:
        # A connection the server dropped is invalid: asking it anything would try to
        # reconnect inside the failed transaction and hide the real error.
        if not conn.invalidated:
            conn.info.pop(_DEFERRED, None)


def _flush_deferred(conn: Connection) -> None:
    """Send the deferred rows, in the order they were deferred, table by table."""
    pending: list[tuple[Table, Mapping[str, Any]]] = conn.info.get(_DEFERRED) or []
    conn.info[_DEFERRED] = []
    batch: list[Mapping[str, Any]] = []
    table: Table | None = None
    for next_table, row in pending:
        if next_table is not table and batch:
            prepared.execute_many(conn, _insert_of(table), batch)
            batch = []
        table = next_table
        batch.append(row)
    if batch:
        prepared.execute_many(conn, _insert_of(table), batch)


@functools.lru_cache(maxsize=64)
def _insert_of(table: Table) -> Any:
    """The table's INSERT, one object per table: prepared.execute_many compiles it once."""
    return table.insert()


@contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """A savepoint: if the block raises, its writes are undone, rows it deferred with
    :func:`insert_later` included (they would otherwise go out with the commit)."""
    pending: list[tuple[Table, Mapping[str, Any]]] | None = conn.info.get(_DEFERRED)
    mark = len(pending) if pending is not None else 0
    try:
        with conn.begin_nested():
            yield
    except BaseException:
        if pending is not None:
            del pending[mark:]
        raise
