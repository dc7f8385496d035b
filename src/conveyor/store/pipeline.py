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
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection


@functools.cache
def supported() -> bool:
    """Whether the libpq psycopg runs on has pipeline mode (14 and later; the binary
    package brings its own). Without it, the statements go one round trip each."""
    return psycopg.capabilities.has_pipeline()


#: The open pipeline of each driver connection in :func:`in_front`, by the connection's id.
_open: dict[int, ExitStack] = {}


class _EndsPipeline(psycopg.Cursor[Any]):
    """The cursor SQLAlchemy executes the statement behind with: once that statement is
    queued, it ends the pipeline, so that SQLAlchemy finds the statement's answer there."""

    def execute(self, *args: Any, **kwargs: Any) -> _EndsPipeline:
        super().execute(*args, **kwargs)
        pipeline = _open.pop(id(self.connection), None)
        if pipeline is not None:
            pipeline.close()  # sends the Sync; both answers come back
        return self


@contextmanager
def in_front(
    conn: Connection, sql: str, params: Mapping[str, Any]
) -> Iterator[psycopg.Cursor[Any]]:
    """Send ``sql`` (PostgreSQL's text, ``%(name)s`` parameters) in front of the next
    statement ``conn`` executes in the block; yields the cursor whose row is ``sql``'s answer
    (as the driver reads it: rows as named tuples, no SQLAlchemy type processing), to be
    fetched after that statement. The transaction's BEGIN, if it is due, goes first."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection), "a pipeline needs psycopg"
    pipeline = ExitStack()
    pipeline.enter_context(raw.pipeline())
    factory = raw.cursor_factory
    try:
        front = raw.cursor(row_factory=namedtuple_row)
        front.execute(sql, params)
        _open[id(raw)] = pipeline
        raw.cursor_factory = _EndsPipeline
        yield front
    finally:
        raw.cursor_factory = factory
        _open.pop(id(raw), None)
        pipeline.close()  # a block that executed nothing still gets its answer
