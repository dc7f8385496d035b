"""What a triggerer holds: its periodic check reads ids, rows only for triggers it has not
started, and a trigger whose try moved on is stopped (both stores)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from conftest import make_settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import TaskState
from conveyor.store import runs, triggers
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance
from conveyor.triggerer.process import Triggerer
from conveyor.triggers.serialization import serialize
from conveyor.triggers.temporal import DateTimeTrigger

DAG_FILE = """
from datetime import datetime
from conveyor import DAG, EmptyOperator

with DAG("held", start_date=datetime(2024, 1, 1), schedule=None):
    for i in range(3):
        EmptyOperator(task_id=f"t{i}")
"""


def deferred_run(store: Store, dags: Path) -> list[int]:
    """A run of three tasks, each deferred to a trigger an hour away; their instance ids."""
    (dags / "held.py").write_text(textwrap.dedent(DAG_FILE))
    DagFileProcessor(store, dags, timeout=60, scan_every=1).sync()
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "held", created_by="test")
    assert run_pk is not None
    later = datetime.now(UTC) + timedelta(hours=1)
    with store.write() as conn:
        tis = sorted(runs.task_instances(conn, run_pk), key=lambda ti: ti.id)
        conn.execute(
            update(task_instance)
            .where(task_instance.c.run_pk == run_pk)
            .values(state=TaskState.DEFERRED.value, try_number=1)
        )
        classpath, kwargs = serialize(DateTimeTrigger(later))
        now = datetime.now(UTC)
        for ti in tis:
            triggers.add(conn, ti.id, 1, classpath, kwargs, "execute_complete", None, None, now)
    return [ti.id for ti in tis]


def test_held_ids_and_rows_follow_the_tries(tmp_path: Path, store: Store) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    ti_ids = deferred_run(store, dags)
    with store.write() as conn:
        taken = triggers.claim(conn, "t-1", datetime.now(UTC), timedelta(seconds=30), 10)
    assert taken == 3
    with store.read() as conn:
        held = triggers.held_ids(conn, "t-1")
        assert len(held) == 3
        assert triggers.held_ids(conn, "someone-else") == []
        rows = triggers.held_by(conn, "t-1", held[1:])
        assert [row.id for row in rows] == held[1:]
        assert {row.ti_id for row in rows} == set(ti_ids[1:])
        assert all(row.method_name == "execute_complete" and row.dag_id == "held" for row in rows)
        assert triggers.held_by(conn, "someone-else", held) == []

    # The first try moves on (a person marks it): its trigger is no longer held.
    with store.write() as conn:
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id == ti_ids[0])
            .values(state=TaskState.SUCCESS.value)
        )
    with store.read() as conn:
        assert triggers.held_ids(conn, "t-1") == held[1:]
        assert triggers.held_by(conn, "t-1", held[:1]) == []


def test_a_triggerer_stops_the_trigger_whose_try_moved_on(tmp_path: Path, store: Store) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    ti_ids = deferred_run(store, dags)
    triggerer = Triggerer(make_settings(tmp_path, dags, store.url), store)
    try:
        triggerer._claim_and_sync(sync=True)
        assert len(triggerer._running) == 3

        with store.write() as conn:
            conn.execute(
                update(task_instance)
                .where(task_instance.c.id == ti_ids[0])
                .values(state=TaskState.SUCCESS.value)
            )
        triggerer._claim_and_sync(sync=True)
        with store.read() as conn:
            still_held = triggers.held_ids(conn, triggerer.id)
        assert triggerer._running == set(still_held)
        assert len(still_held) == 2
    finally:
        triggerer.stop()
