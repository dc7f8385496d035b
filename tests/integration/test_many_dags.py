"""Many DAGs: the DAG processor and the scheduler do work for what changed or came due.

New files are taken in as they parse, many a loop, without waiting on a slow one; the
scheduler reads only DAGs whose due time (``dag.next_dagrun_create_after``) has come, and
that time follows registration, schedule changes and pausing. Every test runs on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from conftest import make_settings
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import dag_actions, due_times
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_file, dag_run

DAG_FILE = """\
import time
from datetime import datetime

from conveyor import DAG, EmptyOperator

{before}
with DAG({dag_id!r}, schedule={schedule}, start_date=datetime({start}), catchup=False):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b") >> EmptyOperator(task_id="c")
"""


def write_dag(
    folder: Path,
    dag_id: str,
    *,
    schedule: str = '"@hourly"',
    start: str = "2024, 1, 1",
    before: str = "",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dag_id}.py"
    text = DAG_FILE.format(dag_id=dag_id, schedule=schedule, start=start, before=before)
    path.write_text(textwrap.dedent(text))
    return path


def registered(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(dag.c.dag_id).where(dag.c.is_active.is_(True))).scalars())


def due_time(store: Store, dag_id: str) -> datetime | None:
    with store.read() as conn:
        found: datetime | None = conn.execute(
            select(dag.c.next_dagrun_create_after).where(dag.c.dag_id == dag_id)
        ).scalar_one()
        return found


def scheduled_runs(store: Store, dag_id: str) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    dag_run.c.dag_id == dag_id, dag_run.c.run_type == "scheduled"
                )
            ).scalar_one()
        )


def scheduler(tmp_path: Path, store: Store) -> Scheduler:
    settings = make_settings(tmp_path, tmp_path / "dags", store.url)
    return Scheduler(settings, store, LocalExecutor(settings), None)


def processor(store: Store, folder: Path, **kwargs: Any) -> DagFileProcessor:
    kwargs.setdefault("timeout", 30)
    return DagFileProcessor(store, folder, scan_every=0.05, **kwargs)


def test_a_new_file_is_registered_while_a_slow_one_still_parses(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "dags"
    write_dag(folder, "slow", before="time.sleep(8)")
    proc = processor(store, folder, max_parallel=2, loop_budget=0.3)
    proc.poll()
    write_dag(folder, "fresh")
    started = time.monotonic()
    while "fresh" not in registered(store):
        assert time.monotonic() - started < 6, "the new file waited for the slow one"
        loop_started = time.monotonic()
        proc.poll()
        assert time.monotonic() - loop_started < 2.0, "a poll held the loop up"
        time.sleep(0.1)  # the scheduler's loop
    assert "slow" not in registered(store)  # still parsing: nobody waited on it


def test_fifty_files_are_registered_within_a_few_loops(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "dags"
    for i in range(50):
        write_dag(folder, f"many_{i:02d}")
    proc = processor(store, folder, max_parallel=2)
    loops = 0
    while len(registered(store)) < 50:
        loops += 1
        assert loops <= 12, f"{len(registered(store))} of 50 after {loops - 1} loops"
        proc.poll()
        time.sleep(1.0)  # a scheduler loop at the default scheduler_loop_seconds
    # Registered DAGs are due at once, so the scheduler works out their runs next loop.
    assert all(due_time(store, f"many_{i:02d}") is not None for i in range(50))


def test_unchanged_files_are_not_parsed_again(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "dags"
    for i in range(3):
        write_dag(folder, f"same_{i}")
    proc = processor(store, folder)
    proc.sync()
    assert proc.poll() == 0
    path = folder / "same_1.py"
    path.write_text(path.read_text() + "\n# touched\n")
    proc.sync()
    with store.read() as conn:
        parsed = {
            r.fileloc: r.parsed_at
            for r in conn.execute(select(dag_file.c.fileloc, dag_file.c.parsed_at))
        }
    newest = max(parsed.values())
    assert [p for p, at in parsed.items() if at == newest] == [str(path)]
    # A new processor (a restarted scheduler) parses nothing whose text it has seen.
    fresh = processor(store, folder)
    fresh.poll()
    assert not fresh.busy()


def test_a_paused_dag_gets_no_runs_and_is_due_again_when_unpaused(
    tmp_path: Path, store: Store
) -> None:
    write_dag(tmp_path / "dags", "paused")
    write_dag(tmp_path / "dags", "running")
    processor(store, tmp_path / "dags").sync()
    with store.write() as conn:
        dag_actions.set_paused(conn, "paused", True)
    sched = scheduler(tmp_path, store)
    now = datetime.now(UTC)
    sched.create_scheduled_runs(now)
    assert scheduled_runs(store, "paused") == 0
    assert scheduled_runs(store, "running") == 1
    with store.read() as conn:
        assert [d.dag_id for d in due_times.due_dags(conn, now)] == []  # paused: not read
    with store.write() as conn:
        dag_actions.set_paused(conn, "paused", False)
    assert due_time(store, "paused") is not None
    sched.create_scheduled_runs(datetime.now(UTC))
    assert scheduled_runs(store, "paused") == 1


def test_a_changed_schedule_gets_its_due_time_worked_out_again(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "dags"
    write_dag(folder, "moving", start="2099, 1, 1")
    proc = processor(store, folder)
    proc.sync()
    sched = scheduler(tmp_path, store)
    now = datetime.now(UTC)
    sched.create_scheduled_runs(now)
    assert due_time(store, "moving") == datetime(2099, 1, 1, 1, tzinfo=UTC)
    assert scheduled_runs(store, "moving") == 0
    time.sleep(0.01)  # a new mtime for the rewritten file
    write_dag(folder, "moving", schedule="timedelta(minutes=30)", start="2024, 1, 1")
    (folder / "moving.py").write_text(
        "from datetime import timedelta\n" + (folder / "moving.py").read_text()
    )
    proc.sync()
    assert due_time(store, "moving") is not None
    assert due_time(store, "moving") <= datetime.now(UTC)  # type: ignore[operator]
    now = datetime.now(UTC)
    sched.create_scheduled_runs(now)
    assert scheduled_runs(store, "moving") == 1
    next_due = due_time(store, "moving")
    assert next_due is not None and now < next_due <= now + timedelta(minutes=30)
    # Nothing is due now: the next loop reads no DAG at all.
    with store.read() as conn:
        assert due_times.due_dags(conn, now) == []


def test_a_dag_without_a_schedule_is_never_due(tmp_path: Path, store: Store) -> None:
    write_dag(tmp_path / "dags", "manual", schedule="None")
    processor(store, tmp_path / "dags").sync()
    scheduler(tmp_path, store).create_scheduled_runs(datetime.now(UTC))
    assert due_time(store, "manual") is None
    assert scheduled_runs(store, "manual") == 0
