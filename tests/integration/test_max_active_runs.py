"""``max_active_runs`` caps the scheduled runs the scheduler makes, not only those it starts.

While a DAG's queued and running runs (manual ones counted, a backfill's apart) fill its
``max_active_runs``, no scheduled run is made: the DAG is held, its next run's time kept, and
an idle loop does not read it. A run that ends makes it due again at once, and it goes on
from the run that waited, so a catchup DAG fills its intervals in order. A manual trigger is
never capped. Every test runs on SQLite and on PostgreSQL, with the loop's steps called one
by one and runs ended by hand (no worker).
"""

from __future__ import annotations

import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import make_settings
from conveyor.engine import manual
from conveyor.executors.local import LocalExecutor
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler import explain
from conveyor.scheduler.datasets import RUN_TYPE, create_dataset_runs
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_ACTIVE, TaskState
from conveyor.store import datasets, due_times, runs, trigger
from conveyor.store.engine import Connection, Store
from conveyor.store.tables import dag, dag_run

DAYS = 6


def _midnight() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


MIDNIGHT = _midnight()
START = MIDNIGHT - timedelta(days=DAYS)


@pytest.fixture(autouse=True)
def this_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """MIDNIGHT and START of the day each test runs in, not of the suite's collection: a
    suite that runs past midnight (UTC) would otherwise find a seventh interval due."""
    midnight = _midnight()
    monkeypatch.setitem(globals(), "MIDNIGHT", midnight)
    monkeypatch.setitem(globals(), "START", midnight - timedelta(days=DAYS))


def setup(tmp_path: Path, store: Store, max_active_runs: int) -> Scheduler:
    """A daily catchup DAG ``capped`` with DAYS intervals due, registered; its scheduler."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "capped.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import datetime
            from conveyor import DAG, EmptyOperator

            with DAG("capped", schedule="@daily", start_date=datetime.fromisoformat(
                    "{START.isoformat()}"), catchup=True, max_active_runs={max_active_runs}):
                EmptyOperator(task_id="a")
            """
        )
    )
    DagFileProcessor(store, folder, scan_every=0.05, timeout=30).sync()
    settings = make_settings(tmp_path, folder, store.url)
    return Scheduler(settings, store, LocalExecutor(settings), None)


def runs_of(store: Store) -> list[tuple[str, str, datetime, datetime]]:
    """(run type, state, interval start, interval end) of every run, by id."""
    c = dag_run.c
    with store.read() as conn:
        rows = conn.execute(
            select(c.run_type, c.state, c.data_interval_start, c.data_interval_end)
            .where(c.dag_id == "capped")
            .order_by(c.id)
        ).all()
    return [(r.run_type, r.state, r.data_interval_start, r.data_interval_end) for r in rows]


def active(store: Store, run_type: str = "scheduled") -> list[str]:
    with store.read() as conn:
        return list(
            conn.execute(
                select(dag_run.c.run_id).where(
                    dag_run.c.dag_id == "capped",
                    dag_run.c.run_type == run_type,
                    dag_run.c.state.in_([s.value for s in RUN_ACTIVE]),
                )
            ).scalars()
        )


def due_ids(store: Store, now: datetime) -> list[str]:
    with store.read() as conn:
        return [d.dag_id for d in due_times.due_dags(conn, now)]


def end(store: Store, run_id: str) -> None:
    with store.write() as conn:
        manual.mark_run(conn, "capped", run_id, TaskState.SUCCESS, Actor("test"))


def test_a_catchup_dag_at_max_active_runs_1_makes_its_runs_one_at_a_time_in_order(
    tmp_path: Path, store: Store
) -> None:
    sched = setup(tmp_path, store, max_active_runs=1)
    now = datetime.now(UTC)
    assert sched.create_scheduled_runs(now) == 1
    [first] = active(store)
    # Held: another loop makes nothing, and an idle loop does not even read the DAG ...
    assert sched.create_scheduled_runs(now) == 0
    sched.start_queued_runs()
    assert sched.create_scheduled_runs(now) == 0
    assert due_ids(store, now) == []
    # ... until the last-resort look, which finds it still full.
    later = now + timedelta(seconds=sched.settings.run_sweep_seconds + 1)
    assert due_ids(store, later) == ["capped"]
    assert sched.create_scheduled_runs(later) == 0
    assert active(store) == [first]

    # Each run's end makes the DAG due at once (no clock moved on), and the next interval
    # follows: none skipped, never two at a time.
    for made in range(2, DAYS + 1):
        end(store, active(store)[0])
        assert due_ids(store, now) == ["capped"]
        assert sched.create_scheduled_runs(now) == 1
        sched.start_queued_runs()
        assert len(active(store)) == 1
        assert len(runs_of(store)) == made
    end(store, active(store)[0])
    assert sched.create_scheduled_runs(now) == 0  # all DAYS intervals have their run

    found = runs_of(store)
    assert [(kind, state) for kind, state, _, _ in found] == [("scheduled", "success")] * DAYS
    starts = [start for _, _, start, _ in found]
    ends = [end for _, _, _, end in found]
    assert starts == [START + timedelta(days=i) for i in range(DAYS)]
    assert ends[:-1] == starts[1:] and ends[-1] == MIDNIGHT


def test_room_for_some_makes_that_many_and_holds_the_rest(tmp_path: Path, store: Store) -> None:
    sched = setup(tmp_path, store, max_active_runs=3)
    now = datetime.now(UTC)
    assert sched.create_scheduled_runs(now) == 3
    assert due_ids(store, now) == []
    with store.read() as conn:
        waiting = conn.execute(
            select(dag.c.next_run_after).where(dag.c.dag_id == "capped")
        ).scalar_one()
    assert waiting == START + timedelta(days=4)  # the fourth run's, shown as the next run
    end(store, active(store)[1])  # any of them
    assert sched.create_scheduled_runs(now) == 1
    assert [start for _, _, start, _ in runs_of(store)] == [
        START + timedelta(days=i) for i in range(4)
    ]


def test_a_manual_trigger_is_not_capped_but_counts(tmp_path: Path, store: Store) -> None:
    sched = setup(tmp_path, store, max_active_runs=1)
    now = datetime.now(UTC)
    sched.create_scheduled_runs(now)
    sched.start_queued_runs()
    [scheduled] = active(store)
    with store.write() as conn:
        manual_run = trigger.trigger_run(conn, "capped", created_by="test")
    assert active(store, "manual") == [manual_run.run_id]  # queued beyond the cap
    sched.start_queued_runs()
    # The queued manual run waits for room to start, and says why.
    with store.read() as conn:
        run = runs.find_run(conn, "capped", manual_run.run_id)
        told = explain.explain(conn, run, "a")
    assert run.state.value == "queued"
    assert any("1 of max_active_runs=1 runs of this DAG are running" in w for w in told.waiting_for)

    # The scheduled run ends: the manual run takes the room, so no scheduled run is made.
    end(store, scheduled)
    sched.start_queued_runs()
    assert sched.create_scheduled_runs(now) == 0
    assert active(store) == []
    end(store, manual_run.run_id)
    assert sched.create_scheduled_runs(now) == 1  # the second interval, in order
    assert runs_of(store)[-1][2] == START + timedelta(days=1)


def test_a_run_ending_while_a_scheduler_holds_the_dag_does_not_wait_for_it(
    tmp_path: Path, store: Store
) -> None:
    """The wake skips a DAG row a scheduler has claimed (that scheduler may be waiting for
    the run's own lock); the held DAG's last-resort look makes the waiting run then."""
    if not store.supports_row_locks:
        pytest.skip("row locks: SQLite's single writer serializes the two transactions")
    sched = setup(tmp_path, store, max_active_runs=1)
    now = datetime.now(UTC)
    sched.create_scheduled_runs(now)
    [first] = active(store)
    ended = threading.Event()
    with store.write() as conn:
        assert runs.claim_dag(conn, "capped")  # a scheduler making or starting its runs
        worker = threading.Thread(target=lambda: (end(store, first), ended.set()))
        worker.start()
        assert ended.wait(30), "a run's end waited for the scheduler's claim of its DAG"
    worker.join()
    assert active(store) == []
    assert due_ids(store, now) == []  # the wake was skipped ...
    later = now + timedelta(seconds=sched.settings.run_sweep_seconds + 1)
    assert sched.create_scheduled_runs(later) == 1  # ... and the look made the run anyway
    assert runs_of(store)[-1][2] == START + timedelta(days=1)


def test_a_run_ending_after_the_loop_counted_does_not_leave_the_dag_held(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop counts a due DAG's active runs in its first read; a run that ends before
    the DAG's hold commits finds nothing held to wake. The loop counts the DAGs it held
    again once the holds are committed, and makes such a DAG due again."""
    sched = setup(tmp_path, store, max_active_runs=1)
    now = datetime.now(UTC)
    sched.create_scheduled_runs(now)
    with store.write() as conn:
        manual_run = trigger.trigger_run(conn, "capped", created_by="test")
    end(store, active(store)[0])  # the manual run still fills the room; the DAG is due
    assert due_ids(store, now) == ["capped"]

    counted = due_times.due_dags

    def count_then_end(conn: Connection, at: datetime) -> list[due_times.DueDag]:
        found = counted(conn, at)
        end(store, manual_run.run_id)  # after the count, before the hold
        return found

    monkeypatch.setattr(due_times, "due_dags", count_then_end)
    assert sched.create_scheduled_runs(now) == 0  # held on the count it read
    monkeypatch.undo()
    assert due_ids(store, now) == ["capped"]  # ... and woken by the second count
    assert sched.create_scheduled_runs(now) == 1


def test_an_asset_triggered_dag_at_max_active_runs_keeps_its_updates_for_later(
    tmp_path: Path, store: Store
) -> None:
    """As Airflow defers an asset-triggered DAG whose queued and running runs reach its
    ``max_active_runs``: no run is made while it is full, no update is lost, and the run
    comes at the first loop after a run ends, with the events that waited."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "assets.py").write_text(
        textwrap.dedent(
            """
            from datetime import datetime
            from conveyor import DAG, EmptyOperator
            from conveyor.datasets import Dataset

            with DAG("maker", schedule=None, start_date=datetime(2024, 1, 1)):
                EmptyOperator(task_id="make")
            with DAG("capped", schedule=[Dataset("s3://capped/data")],
                     start_date=datetime(2024, 1, 1), max_active_runs=1):
                EmptyOperator(task_id="a")
            """
        )
    )
    DagFileProcessor(store, folder, scan_every=0.05, timeout=30).sync()
    with store.write() as conn:
        maker = trigger.trigger_run(conn, "maker", created_by="test")

    def update_and_schedule() -> int:
        with store.write() as conn:
            datasets.record_updates(conn, maker, "make", -1, ["s3://capped/data"])
        return create_dataset_runs(store, Actor("test"), runs.utcnow())

    assert update_and_schedule() == 1
    [first] = active(store, RUN_TYPE)
    assert update_and_schedule() == 0  # full: the update waits queued
    assert update_and_schedule() == 0
    with store.read() as conn:
        assert datasets.queued_dag_ids(conn) == ["capped"]
    end(store, first)
    assert create_dataset_runs(store, Actor("test"), runs.utcnow()) == 1
    [second] = active(store, RUN_TYPE)
    with store.read() as conn:
        conf = runs.find_run(conn, "capped", second).conf
        assert datasets.queued_dag_ids(conn) == []
    assert len(conf["dataset_events"]) == 2  # both updates that waited, none lost
