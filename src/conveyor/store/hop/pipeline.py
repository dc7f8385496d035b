"""Statements sent to PostgreSQL together, in one round trip (psycopg's pipeline mode).

A statement of the driver's own goes first, and the next statement the SQLAlchemy connection
executes goes behind it; the answers to both come back together. PostgreSQL still runs them
one after the other, each with a snapshot of its own: a statement behind a lock that had to
wait sees what the holder committed.

Used on the hop, where a try's process locks its run and records the try's end. Sent apart,
the lock's answer woke the process, which then sent the record while the run stayed locked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection


@functools.cache
def supported() -> bool:
    """Whether the libpq psycopg runs on has pipeline mode (14 and later; the binary
    package brings its own). Without it, the statements go one round trip each."""
    return psycopg.capabilities.has_pipeline()


#: What goes in front of the next statement of each driver connection, by its id.
_fronts: dict[int, tuple[psycopg.Cursor[Any], str, Mapping[str, Any]]] = {}


class _SendsFrontFirst(psycopg.Cursor[Any]):
    """The cursor SQLAlchemy executes the statement behind with. It opens the pipeline, sends
    the front statement and its own, and closes the pipeline, which waits for both answers:
    all inside SQLAlchemy's execution, so that an error of either (a lost connection, a
    deadlock) reaches the caller as SQLAlchemy's, and a lost connection is discarded."""

    def execute(self, *args: Any, **kwargs: Any) -> _SendsFrontFirst:
        front = _fronts.pop(id(self.connection), None)
        if front is None:
            super().execute(*args, **kwargs)
            return self
        cursor, sql, params = front
        with self.connection.pipeline():
            cursor.execute(sql, params)
            super().execute(*args, **kwargs)
        return self


@contextmanager
def in_front(
    conn: Connection, sql: str, params: Mapping[str, Any]
) -> Iterator[psycopg.Cursor[Any]]:
    """Send ``sql`` (PostgreSQL's text, ``%(name)s`` parameters) in front of the next
    statement ``conn`` executes in the block, in one round trip with it (and with the
    transaction's BEGIN, if it is due). Yields the cursor whose row is ``sql``'s answer, as
    the driver reads it (named tuples, no SQLAlchemy types), to fetch after that statement."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection), "a pipeline needs psycopg"
    factory = raw.cursor_factory
    front = raw.cursor(row_factory=namedtuple_row)
    _fronts[id(raw)] = (front, sql, params)
    raw.cursor_factory = _SendsFrontFirst
    try:
        yield front
    finally:
        raw.cursor_factory = factory
        _fronts.pop(id(raw), None)
