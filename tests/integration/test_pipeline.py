"""A statement sent in front of another (``store.hop.pipeline``), on PostgreSQL: both answers
come back together, and a failure of either reaches the caller as the store's own error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from conveyor.store.engine import STORE_UNREACHABLE, Store
from conveyor.store.hop import pipeline

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_database_url: str) -> Iterator[Store]:
    # As a Celery pool process has it: no test query before each transaction.
    opened = Store(pg_database_url, pre_ping=False)
    yield opened
    opened.dispose()


def test_the_front_statement_and_the_one_behind_both_answer(store: Store) -> None:
    with store.write() as conn:
        with pipeline.in_front(conn, "SELECT %(n)s::int AS n", {"n": 7}) as front:
            behind = conn.execute(text("SELECT :m AS m"), {"m": 8}).scalar_one()
        assert (front.fetchone().n, behind) == (7, 8)


def test_a_lost_connection_is_the_stores_error_and_the_next_transaction_works(
    store: Store, pg_database_url: str
) -> None:
    with store.write() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    other = Store(pg_database_url, pool=False)
    try:
        with other.write() as killer:  # the store restarts, for this connection
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()

    # What retrying() waits out; a raw driver error would escape it.
    with (
        pytest.raises(STORE_UNREACHABLE),
        store.write() as conn,
        pipeline.in_front(conn, "SELECT 1 AS one", {}),
    ):
        conn.execute(text("SELECT 2"))
    with store.write() as conn:  # the lost connection was discarded
        with pipeline.in_front(conn, "SELECT 1 AS one", {}) as front:
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
        assert front.fetchone().one == 1
