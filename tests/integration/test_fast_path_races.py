"""Many tries of one run finishing at the same instant, on PostgreSQL.

Each finishing try records its outcome and advances the run in one transaction. Those
transactions must neither deadlock (the XCom insert's foreign-key lock against the run lock)
nor miss that the join became ready: exactly one of them schedules it.
"""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import make_settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import task_event, task_instance
from conveyor.store.transitions import Actor, Outcome
from conveyor.worker.runner import TryRunner

WIDE = """
    from conveyor import DAG, EmptyOperator

    with DAG("wide") as dag:
        start = EmptyOperator(task_id="start")
        join = EmptyOperator(task_id="join")
        for i in range(16):
            start >> EmptyOperator(task_id=f"mid_{i:02d}") >> join
"""


@pytest.mark.postgres
def test_simultaneous_finishes_neither_deadlock_nor_miss_the_join(
    tmp_path: Path, pg_database_url: str
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "wide.py").write_text(textwrap.dedent(WIDE))
    settings = make_settings(tmp_path, dags, pg_database_url, parallelism=64)
    store = Store(pg_database_url, pool=True)
    actor = Actor("test")
    try:
        DagFileProcessor(store, dags, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "wide", created_by="test")
            assert run_pk is not None
            transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
            tis = {t.task_id: t for t in runs.task_instances(conn, run_pk)}
            transitions.set_by_hand(conn, tis["start"].id, TaskState.SUCCESS, actor, retries=0)
            middle = [t for name, t in tis.items() if name.startswith("mid_")]
            for ti in middle:  # each one running its first try, as a worker would leave it
                transitions.schedule(conn, ti.id, TaskState.NONE, 0, "test", actor)
                transitions.queue(conn, ti.id, 1, "default", actor)
                transitions.start(conn, ti.id, 1, hostname="h", pid=1, log_path=None, actor=actor)

        barrier = threading.Barrier(len(middle))
        errors: list[BaseException] = []

        def finish(ti_id: int, task_id: str) -> None:
            runner = TryRunner(settings, store)
            barrier.wait()
            try:
                runner.record(ti_id, 1, run_pk, task_id, Outcome(TaskState.SUCCESS, "return"))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=finish, args=(t.id, t.task_id)) for t in middle]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        with store.read() as conn:
            join_state = conn.execute(
                select(task_instance.c.state).where(task_instance.c.id == tis["join"].id)
            ).scalar()
            scheduled_events = conn.execute(
                select(func.count()).where(
                    task_event.c.ti_id == tis["join"].id, task_event.c.kind == "scheduled"
                )
            ).scalar()
    finally:
        store.dispose()
    assert errors == []
    assert join_state in (TaskState.QUEUED.value, TaskState.SCHEDULED.value)
    assert scheduled_events == 1
