"""A file parsed again to what the store holds (every ``min_file_process_interval``) writes
only its parse time; every real change is still saved whole. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, update

from conveyor import DAG, EmptyOperator
from conveyor.loading.serialize import serialize_dag
from conveyor.model.context import DagContext
from conveyor.store import dags
from conveyor.store.dags import ParsedFile
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_file, import_error

DAY = datetime(2024, 1, 1, tzinfo=UTC)
FILE = "/virtual/reparsed.py"
WRITES = ("INSERT", "UPDATE", "DELETE")


def _parse(description: str = "first", source: str = "# v1") -> ParsedFile:
    with DAG("reparsed", start_date=DAY, description=description) as built:
        EmptyOperator(task_id="only")
    DagContext.created.remove(built)  # not a file's DAG: keep the loader's list clean
    return ParsedFile(FILE, source, [serialize_dag(built)], None, 0.01)


def _save(store: Store, parsed: ParsedFile) -> list[str]:
    with store.write() as conn:
        return dags.save_parsed_file(conn, parsed, paused_at_creation=False)


@contextmanager
def _writes(store: Store) -> Iterator[list[str]]:
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            sent.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def _stored(store: Store) -> tuple[Any, Any]:
    with store.read() as conn:
        row = conn.execute(select(dag).where(dag.c.dag_id == "reparsed")).one()
        parsed_at = conn.execute(
            select(dag_file.c.parsed_at).where(dag_file.c.fileloc == FILE)
        ).scalar_one()
    return row, parsed_at


def test_a_parse_the_store_holds_writes_only_its_time(store: Store) -> None:
    assert _save(store, _parse()) == ["reparsed"]
    before, parsed_before = _stored(store)
    with _writes(store) as sent:
        assert _save(store, _parse()) == ["reparsed"]
    assert len(sent) == 1 and sent[0].startswith("UPDATE dag_file"), sent
    after, parsed_after = _stored(store)
    assert after == before  # the DAG's row untouched: nothing for the scheduler to redo
    assert parsed_after > parsed_before


def test_every_change_is_saved_whole(store: Store) -> None:
    _save(store, _parse())
    first, _ = _stored(store)
    # The same source, a different DAG (a variable or the environment changed it).
    _save(store, _parse(description="second"))
    second, _ = _stored(store)
    assert second.version_hash != first.version_hash and second.description == "second"
    # A new source.
    _save(store, _parse(description="second", source="# v2"))
    third, _ = _stored(store)
    assert third.version_hash != second.version_hash
    # A DAG made inactive (its file gone for a while) comes back when parsed again.
    with store.write() as conn:
        conn.execute(update(dag).where(dag.c.dag_id == "reparsed").values(is_active=False))
    _save(store, _parse(description="second", source="# v2"))
    assert _stored(store)[0].is_active
    # A file that failed keeps its error until a parse succeeds, which clears it.
    failed = ParsedFile(FILE, "# v2", [], {"line": 1, "message": "boom", "traceback": None}, 0.0)
    _save(store, failed)
    _save(store, _parse(description="second", source="# v2"))
    with store.read() as conn:
        assert conn.execute(select(import_error).where(import_error.c.fileloc == FILE)).all() == []
