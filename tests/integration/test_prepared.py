"""Statements sent straight to SQLite's driver (store/prepared.py) read and write what
SQLAlchemy's execution of them does, raise its errors, and leave to it what they cannot do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, bindparam, event, insert, select, update

from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.hop import prepared
from conveyor.store.tables import dag, dag_run, task_event, task_instance

AT = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)

# Statements built once, as the store's own are.
_RUN_WITH_DAG = (
    select(dag_run, dag.c.is_paused)
    .join(dag, dag.c.dag_id == dag_run.c.dag_id)
    .where(dag_run.c.id == bindparam("run_pk"))
)
_NAMED = select(task_instance.c.id, task_instance.c.task_id, task_instance.c.updated_at).where(
    task_instance.c.run_pk == bindparam("of_run"),
    task_instance.c.task_id.in_(bindparam("task_ids", expanding=True)),
)
_MOVE = (
    update(task_instance)
    .where(
        task_instance.c.id == bindparam("m_id"),
        task_instance.c.state == bindparam("m_from"),
    )
    .values(state=bindparam("m_to"), updated_at=bindparam("m_now"))
    .returning(task_instance.c.id, task_instance.c.updated_at)
)
_MOVE_QUIETLY = (
    update(task_instance)
    .where(task_instance.c.state == bindparam("m_from"))
    .values(state=bindparam("m_to"))
)
_EVENT = insert(task_event)
_RUN_INSERT = insert(dag_run)


DAG_FILE = """
from conveyor import DAG, EmptyOperator

with DAG("d", params={"limit": 3}) as dag:
    for n in range(1, 6):
        EmptyOperator(task_id=f"t{n}")
"""


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A store with one run of five task instances, all in ``none``: the run's id is 1."""
    store = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(store)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "d.py").write_text(DAG_FILE)
    DagFileProcessor(store, dags, timeout=10, scan_every=60).sync()
    with store.write() as conn:
        made = runs.create_manual_run(
            conn, "d", created_by="test", conf={"names": ["a"]}, logical_date=AT
        )
        assert made == 1
    yield store
    store.dispose()


def _both(conn: Connection, statement: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    return prepared.execute(conn, statement, params), conn.execute(statement, params)


def test_rows_read_by_the_driver_are_the_rows_sqlalchemy_reads(sqlite_store: Store) -> None:
    with sqlite_store.read() as conn:
        fast, slow = _both(conn, _RUN_WITH_DAG, {"run_pk": 1})
        assert isinstance(fast, prepared.Rows)  # the driver's path, not SQLAlchemy's
        fast_row, slow_row = fast.one(), slow.one()
        assert tuple(fast_row) == tuple(slow_row)
        # Each type as the store gives it: aware UTC datetimes, JSON, booleans.
        assert fast_row.logical_date == AT and fast_row.logical_date.tzinfo is UTC
        assert fast_row.conf["names"] == ["a"]
        assert fast_row.is_paused is False
        assert fast_row.run_id.startswith("manual__2024-05-01")
        # A missing row is reported as SQLAlchemy reports it: callers catch that class.
        with pytest.raises(sqlalchemy.exc.NoResultFound):
            prepared.execute(conn, _RUN_WITH_DAG, {"run_pk": 99}).one()
        assert prepared.execute(conn, _RUN_WITH_DAG, {"run_pk": 99}).first() is None


@pytest.mark.parametrize("task_ids", [["t2"], ["t1", "t3", "t5"], ["t4", "gone"], []])
def test_an_in_list_is_expanded_for_each_number_of_values(
    sqlite_store: Store, task_ids: list[str]
) -> None:
    with sqlite_store.read() as conn:
        fast, slow = _both(conn, _NAMED, {"of_run": 1, "task_ids": task_ids})
        assert isinstance(fast, prepared.Rows)
        assert sorted(fast.all()) == sorted(tuple(row) for row in slow.all())
        assert {row.task_id for row in fast} == set(task_ids) - {"gone"}


def test_a_text_made_for_a_list_s_length_is_bound_with_each_call_s_values(
    sqlite_store: Store,
) -> None:
    with sqlite_store.read() as conn:
        for task_ids in (["t1", "t2"], ["t3", "t4"], ["t5", "t1"], ["t2"], ["t3", "t5"]):
            found = prepared.execute(conn, _NAMED, {"of_run": 1, "task_ids": task_ids})
            assert sorted(row.task_id for row in found) == sorted(task_ids)


_HELD_LIST = select(task_instance.c.task_id).where(
    task_instance.c.run_pk == bindparam("of_run"), task_instance.c.task_id.in_(["t2", "t4"])
)


def test_a_list_the_statement_holds_is_expanded_once_and_bound(sqlite_store: Store) -> None:
    with sqlite_store.read() as conn:
        for _ in range(2):
            fast, slow = _both(conn, _HELD_LIST, {"of_run": 1})
            assert isinstance(fast, prepared.Rows)
            assert sorted(fast.all()) == sorted(tuple(row) for row in slow.all())
            assert sorted(row.task_id for row in fast) == ["t2", "t4"]
        plan = prepared._prepared_for(conn, _HELD_LIST, {"of_run": 1})
        assert plan is not None and list(plan.shapes) == [(2,)]  # one text for its two values


def test_an_update_returns_its_rows_and_counts_them(sqlite_store: Store) -> None:
    later = AT + timedelta(minutes=5)
    with sqlite_store.write() as conn:
        won = prepared.execute(
            conn, _MOVE, {"m_id": 2, "m_from": "none", "m_to": "queued", "m_now": later}
        )
        lost = prepared.execute(
            conn, _MOVE, {"m_id": 2, "m_from": "none", "m_to": "queued", "m_now": later}
        )
        several = prepared.execute(conn, _MOVE_QUIETLY, {"m_from": "none", "m_to": "scheduled"})
    assert won.first() == (2, later) and won.rowcount == 1
    assert lost.first() is None and lost.rowcount == 0
    assert several.rowcount == 4 and several.first() is None  # returns nothing, counts all
    with sqlite_store.read() as conn:
        states = dict(conn.execute(select(task_instance.c.id, task_instance.c.state)).all())
        stamp = conn.execute(
            select(task_instance.c.updated_at).where(task_instance.c.id == 2)
        ).scalar_one()
    assert sorted(states.values()) == ["queued", "scheduled", "scheduled", "scheduled", "scheduled"]
    assert states[2] == "queued"
    assert stamp == later  # bound as SQLAlchemy binds it: read back the same


def test_rows_inserted_together_are_bound_with_their_types(sqlite_store: Store) -> None:
    rows = [
        {"ti_id": 1, "try_number": 1, "at": AT + timedelta(seconds=n), "kind": "queued",
         "actor": "test", "message": f"m{n}", "detail": {"queue": "etl", "n": n}}
        for n in range(3)
    ]  # fmt: skip
    with sqlite_store.write() as conn:
        prepared.execute_many(conn, _EVENT, rows)
    with sqlite_store.read() as conn:
        found = conn.execute(
            select(task_event.c.at, task_event.c.message, task_event.c.detail).order_by(
                task_event.c.id
            )
        ).all()
    assert [tuple(row) for row in found] == [(r["at"], r["message"], r["detail"]) for r in rows]


def test_the_driver_s_errors_are_raised_as_sqlalchemy_raises_them(sqlite_store: Store) -> None:
    duplicate = {"ti_id": 1, "try_number": 1, "at": AT, "kind": "queued", "actor": "t"}
    with (
        pytest.raises(sqlalchemy.exc.IntegrityError, match="task_event"),
        sqlite_store.write() as conn,
    ):
        prepared.execute(conn, _EVENT, {**duplicate, "ti_id": 999_999})  # no such instance
    # The type's own check runs as it binds: a naive datetime is refused, nothing written.
    with pytest.raises(ValueError, match="naive datetime"), sqlite_store.write() as conn:
        prepared.execute(
            conn,
            _MOVE,
            {"m_id": 1, "m_from": "none", "m_to": "queued", "m_now": datetime(2024, 1, 1)},
        )
    with sqlite_store.read() as conn:
        assert (
            conn.execute(select(task_instance.c.state).where(task_instance.c.id == 1)).scalar_one()
            == "none"
        )


def test_what_the_driver_cannot_do_is_left_to_sqlalchemy(sqlite_store: Store) -> None:
    # Outside a transaction: SQLAlchemy's execution begins one.
    with sqlite_store.engine.connect() as conn:
        assert not isinstance(prepared.execute(conn, _RUN_WITH_DAG, {"run_pk": 1}), prepared.Rows)
    # A default computed in Python (dag_run.conf's): SQLAlchemy fills it in.
    with sqlite_store.write() as conn:
        first = dict(conn.execute(select(dag_run).where(dag_run.c.id == 1)).one()._mapping)
        made = prepared.execute(
            conn,
            _RUN_INSERT,
            {**{k: v for k, v in first.items() if k != "conf"}, "id": 2, "run_id": "r2"},
        )
        assert not isinstance(made, prepared.Rows)
        assert conn.execute(select(dag_run.c.conf).where(dag_run.c.id == 2)).scalar_one() == {}
    # An engine someone listens to (tests count statements so): every statement is seen.
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(sqlite_store.engine, "before_cursor_execute", note)
    try:
        with sqlite_store.read() as conn:
            result = prepared.execute(conn, _RUN_WITH_DAG, {"run_pk": 1})
            assert not isinstance(result, prepared.Rows)
            assert result.one().run_id.startswith("manual__2024-05-01")
    finally:
        event.remove(sqlite_store.engine, "before_cursor_execute", note)
    assert any(statement.startswith("SELECT dag_run.id") for statement in seen)


@pytest.mark.postgres
def test_on_postgresql_the_statement_goes_through_sqlalchemy(pg_database_url: str) -> None:
    store = Store(pg_database_url)
    try:
        with store.read() as conn:
            result = prepared.execute(conn, _NAMED, {"of_run": 1, "task_ids": ["t1"]})
            assert not isinstance(result, prepared.Rows)
            assert result.all() == []
    finally:
        store.dispose()
