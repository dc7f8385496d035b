"""Work after a commit (``store.engine.after_commit``): done once the write transaction has
committed, never when it rolls back; in a shared transaction, when its owner commits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from conveyor.clock import utcnow
from conveyor.store import schema
from conveyor.store.engine import Connection, Store, after_commit, shared_transaction
from conveyor.store.tables import pool


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(made)
    try:
        yield made
    finally:
        made.dispose()


def _pools(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(pool.c.name)).scalars())


def test_work_after_a_commit_sees_what_was_committed(store: Store) -> None:
    seen: list[set[str]] = []
    with store.write() as conn:
        conn.execute(pool.insert().values(name="after", slots=1, updated_at=utcnow()))
        after_commit(conn, lambda: seen.append(_pools(store)))
        assert seen == []  # not before the commit
    assert len(seen) == 1 and "after" in seen[0]


def test_no_work_after_a_rollback_and_none_left_for_the_next_transaction(store: Store) -> None:
    done: list[str] = []
    with pytest.raises(RuntimeError), store.write() as conn:
        after_commit(conn, lambda: done.append("rolled back"))
        raise RuntimeError("undo")
    with store.write() as conn:
        after_commit(conn, lambda: done.append("committed"))
    assert done == ["committed"]


def test_a_failing_work_is_logged_and_the_others_done(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    done: list[str] = []

    def broken() -> None:
        raise ValueError("broken follow-up")

    with store.write() as conn:
        after_commit(conn, broken)
        after_commit(conn, lambda: done.append("second"))
    assert done == ["second"]
    assert "work after a commit failed" in caplog.text


def test_a_shared_transaction_does_the_work_when_its_owner_commits(store: Store) -> None:
    done: list[str] = []
    with shared_transaction(store) as shared:
        with store.write() as conn:
            conn.execute(pool.insert().values(name="shared", slots=1, updated_at=utcnow()))
            after_commit(conn, lambda: done.append("shared"))
        assert done == []  # the block ended; the transaction is the owner's
        shared.finish(commit=True)
    assert done == ["shared"]
    with shared_transaction(store) as shared:
        with store.write() as conn:
            after_commit(conn, lambda: done.append("rolled back"))
        shared.finish(commit=False)
    assert done == ["shared"]


def test_the_work_of_a_savepoint_undone_is_dropped_with_it(store: Store) -> None:
    """A block that joins a shared transaction and raises (an API dry run) is undone: its
    work is not done when the owner commits; so for a key of ``write_each`` that fails."""
    done: list[str] = []
    with shared_transaction(store) as shared:
        with store.write() as conn:
            after_commit(conn, lambda: done.append("kept"))
        with pytest.raises(LookupError), store.write() as conn:
            after_commit(conn, lambda: done.append("dry run"))
            raise LookupError("rolled back")
        shared.finish(commit=True)
    assert done == ["kept"]

    def work(conn: Connection, key: str) -> None:
        after_commit(conn, lambda: done.append(key))
        if key == "bad":
            raise ValueError(key)

    store.write_each(["good", "bad"], work)
    assert done == ["kept", "good"]
