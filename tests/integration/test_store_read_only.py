"""A PostgreSQL server that answers read-only (a standby a failover's address reaches before
its promotion) is an unreachable store to Conveyor: its transactions are asked again, on a
new connection, instead of failing as the transaction's own fault."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from conveyor.store.engine import STORE_UNREACHABLE, Store, StoreReadOnly, retrying
from conveyor.store.tables import variable


def _read_only_url(url: str) -> str:
    """The same database, every transaction of every connection read-only, as on a standby."""
    parsed = make_url(url)
    query = {**parsed.query, "options": "-c default_transaction_read_only=on"}
    return parsed.set(query=query).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_write_on_a_read_only_server_is_an_unreachable_store(pg_database_url: str) -> None:
    store = Store(_read_only_url(pg_database_url))
    attempts = 0
    connections = 0

    def connected(*_: object) -> None:
        nonlocal connections
        connections += 1

    event.listen(store.engine, "connect", connected)

    def write() -> None:
        nonlocal attempts
        attempts += 1
        with store.write() as conn:
            conn.execute(variable.insert().values(key="k", value="v"))

    try:
        with pytest.raises(StoreReadOnly, match="read-only transaction") as raised:
            retrying(write, what="a test write", for_seconds=1.0)
        assert isinstance(raised.value, STORE_UNREACHABLE)
        assert attempts >= 2, "the write was not asked again"
        # The pool did not keep the read-only connection: each attempt made a new one.
        assert connections == attempts
        assert store.ping() is True  # reads work: the server answers (not in recovery)
        with store.read() as conn:
            assert conn.execute(select(variable.c.key)).all() == []
    finally:
        store.dispose()


@pytest.mark.postgres
def test_other_errors_are_still_the_transactions_own(pg_database_url: str) -> None:
    store = Store(pg_database_url)
    try:
        with pytest.raises(Exception) as raised, store.write() as conn:
            conn.exec_driver_sql("SELECT 1/0")
        assert not isinstance(raised.value, STORE_UNREACHABLE)
    finally:
        store.dispose()
