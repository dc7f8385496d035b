"""A burst of DAGs due at once is worked through a bounded slice a loop.

One loop creates runs for at most ``max_dagruns_to_create_per_loop`` DAGs, the longest
overdue first, and plans at most ``max_dagruns_per_loop_to_schedule`` running runs whole;
what is left goes first in the next loop, which the loop starts at once. So the first tasks
of the runs made are handed to the executor while the rest of the burst still waits for its
runs, and every due run is still created exactly once, with two schedulers racing on
PostgreSQL too. Each test runs on a real store; the executor records what it is handed and
starts nothing.
"""

from __future__ import annotations

import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from conftest import make_settings
from conveyor.clock import utcnow
from conveyor.engine.progress import QueuedTry
from conveyor.executors.base import Executor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import due_times
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance

DAG_FILE = """\
    from datetime import datetime
    from conveyor import DAG, EmptyOperator

    with DAG({dag_id!r}, schedule="@hourly", start_date=datetime(2024, 1, 1), catchup=False):
        EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
"""


class Recording(Executor):
    """Starts nothing; remembers the tries it was handed, by the loop that handed them."""

    def __init__(self) -> None:
        self.handed: list[QueuedTry] = []

    def start(self) -> None: ...

    def submit(self, tries: list[QueuedTry]) -> None:
        self.handed.extend(tries)

    def poll(self, timeout: float) -> int:
        return 0

    def holds(self, ti_id: int) -> bool:
        return True

    def free_slots(self) -> int:
        return 10_000

    def stop(self, grace: float) -> None: ...


class SeenAsAWorker(Recording):
    """Also looks, from a connection of its own as a worker does, for the run of each try it
    is handed: a worker waits for the run's lock until the scheduler commits, which needs a
    row committed already (a try of a run made in the same transaction finds none, and was
    dropped)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.store = Store(url)
        self.unseen: list[int] = []

    def submit(self, tries: list[QueuedTry]) -> None:
        super().submit(tries)
        with self.store.read() as conn:
            seen = set(
                conn.execute(
                    select(dag_run.c.id).where(dag_run.c.id.in_([t.run_pk for t in tries]))
                ).scalars()
            )
        self.unseen += [t.run_pk for t in tries if t.run_pk not in seen]


def burst(tmp_path: Path, store: Store, count: int) -> list[str]:
    """``count`` DAGs, registered and all due; each overdue a second longer than the next,
    so the order they are due in is known. Their ids, the longest overdue first."""
    folder = tmp_path / "dags"
    folder.mkdir()
    names = [f"burst_{n:02d}" for n in range(count)]
    for dag_id in names:
        (folder / f"{dag_id}.py").write_text(textwrap.dedent(DAG_FILE.format(dag_id=dag_id)))
    DagFileProcessor(store, folder, timeout=30, scan_every=0.05, paused_at_creation=False).sync()
    # Due in the reverse of their names' order: the loop must follow the due time.
    now = utcnow()
    with store.write() as conn:
        for n, dag_id in enumerate(names):
            conn.execute(
                update(dag)
                .where(dag.c.dag_id == dag_id)
                .values(next_dagrun_create_after=now - timedelta(seconds=n + 1))
            )
    return names[::-1]


def scheduler(tmp_path: Path, store: Store, executor: Executor, **settings: Any) -> Scheduler:
    values = make_settings(tmp_path, tmp_path / "dags", store.url, parallelism=100, **settings)
    return Scheduler(values, store, executor, None)


def runs_by_dag(store: Store) -> dict[str, int]:
    with store.read() as conn:
        rows = conn.execute(
            select(dag_run.c.dag_id, func.count())
            .where(dag_run.c.run_type == "scheduled")
            .group_by(dag_run.c.dag_id)
        ).all()
    return {dag_id: int(n) for dag_id, n in rows}


def handed_dags(executor: Recording, store: Store) -> list[str]:
    """The DAGs whose tries the executor was handed, in the order it got them."""
    ids = [t.ti_id for t in executor.handed]
    with store.read() as conn:
        rows = dict(
            conn.execute(
                select(task_instance.c.id, dag_run.c.dag_id)
                .join(dag_run, dag_run.c.id == task_instance.c.run_pk)
                .where(task_instance.c.id.in_(ids))
            ).all()
        )
    return [rows[i] for i in ids]


def test_a_burst_is_created_a_slice_a_loop_and_its_first_tasks_queued_meanwhile(
    tmp_path: Path, store: Store
) -> None:
    ids = burst(tmp_path, store, 25)
    executor = Recording()
    sched = scheduler(
        tmp_path,
        store,
        executor,
        max_dagruns_to_create_per_loop=10,
        max_dagruns_per_loop_to_schedule=100,
    )
    sched.step()
    # The ten longest overdue have their runs, and their first tasks are with the executor
    # while fifteen DAGs still wait for theirs.
    assert set(runs_by_dag(store)) == set(ids[:10])
    assert set(handed_dags(executor, store)) == set(ids[:10])
    assert sched._work_left  # the next loop starts at once
    sched.step()
    assert set(runs_by_dag(store)) == set(ids[:20])
    assert set(handed_dags(executor, store)) == set(ids[:20])
    sched.step()
    assert runs_by_dag(store) == dict.fromkeys(ids, 1)  # each due run once
    assert sorted(handed_dags(executor, store)) == sorted(ids)
    assert not sched._work_left
    sched.step()
    assert runs_by_dag(store) == dict.fromkeys(ids, 1)


def test_the_slices_of_a_burst_check_timeouts_once_a_loop_second(
    tmp_path: Path, store: Store
) -> None:
    burst(tmp_path, store, 25)
    sched = scheduler(
        tmp_path, store, Recording(), max_dagruns_to_create_per_loop=5, scheduler_loop_seconds=30
    )
    checked: list[int] = []
    sched.check_run_timeouts = lambda now: checked.append(len(runs_by_dag(store)))  # type: ignore[method-assign]
    requeued: list[int] = []
    sched.requeue_stuck = lambda now: requeued.append(1)  # type: ignore[method-assign]
    while True:
        sched.step()
        if not sched._work_left:
            break
    assert checked == [5]  # the first slice's loop; the four slices after it skip the checks
    assert len(requeued) == 5  # a dead scheduler's tries are looked for in every slice
    sched.step()  # a loop that follows no burst checks as ever
    assert checked == [5, 25]
    sched._work_left = True  # in a burst again, once a loop-second has passed
    sched._next_checks = 0.0
    sched.step()
    assert checked == [5, 25, 25]


def test_runs_to_plan_beyond_the_bound_wait_for_the_next_loop_and_go_first_in_it(
    tmp_path: Path, store: Store
) -> None:
    ids = burst(tmp_path, store, 12)
    executor = Recording()
    sched = scheduler(
        tmp_path,
        store,
        executor,
        max_dagruns_to_create_per_loop=100,
        max_dagruns_per_loop_to_schedule=5,
    )
    sched.step()
    assert runs_by_dag(store) == dict.fromkeys(ids, 1)  # every run made in one loop
    first = handed_dags(executor, store)
    assert len(first) == 5  # but five planned: their first tasks handed over
    assert sched._work_left
    sched.step()
    second = handed_dags(executor, store)[5:]
    assert len(second) == 5 and not set(first) & set(second)
    sched.step()
    assert sorted(handed_dags(executor, store)) == sorted(ids)  # none left behind
    assert not sched._work_left


def test_a_try_is_handed_over_once_its_run_is_there_for_a_worker_to_wait_on(
    tmp_path: Path, store: Store
) -> None:
    ids = burst(tmp_path, store, 3)
    executor = SeenAsAWorker(store.url)
    try:
        scheduler(tmp_path, store, executor).step()
    finally:
        executor.store.dispose()
    assert sorted(handed_dags(executor, store)) == sorted(ids)  # made, started, handed over
    assert executor.unseen == []


def test_dags_whose_runs_fail_to_be_made_do_not_take_the_places_of_the_others(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = burst(tmp_path, store, 9)
    broken = set(ids[:3])  # the longest overdue: first in every loop while they fail
    set_due_time = due_times.set_due_time

    def fails_for_broken(conn: Any, dag_id: str, **kwargs: Any) -> None:
        if dag_id in broken:
            raise RuntimeError(f"no due time for {dag_id}")
        set_due_time(conn, dag_id, **kwargs)

    monkeypatch.setattr(due_times, "set_due_time", fails_for_broken)
    sched = scheduler(tmp_path, store, Recording(), max_dagruns_to_create_per_loop=3)
    sched.create_scheduled_runs(utcnow())
    assert set(runs_by_dag(store)) == set(ids[3:6])
    sched.create_scheduled_runs(utcnow())
    assert runs_by_dag(store) == dict.fromkeys(ids[3:], 1)


@pytest.mark.postgres
def test_two_bounded_schedulers_racing_create_each_due_run_once(
    tmp_path: Path, pg_database_url: str
) -> None:
    stores = [Store(pg_database_url), Store(pg_database_url)]
    try:
        ids = burst(tmp_path, stores[0], 40)
        schedulers = [
            scheduler(tmp_path / name, s, Recording(), max_dagruns_to_create_per_loop=3)
            for name, s in zip(("a", "b"), stores, strict=True)
        ]

        def loops(n: int) -> None:
            for _ in range(30):
                schedulers[n].create_scheduled_runs(utcnow())

        threads = [threading.Thread(target=loops, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert runs_by_dag(stores[0]) == dict.fromkeys(ids, 1)
    finally:
        for s in stores:
            s.dispose()


def test_the_loop_that_makes_a_run_starts_at_the_run_s_due_time_not_a_loop_later(
    tmp_path: Path, store: Store
) -> None:
    """Loops a minute long: a DAG due a moment after a loop has its run made at its due
    time, not a minute later. Another DAG's later due time, a paused DAG's earlier one and
    one already past do not shorten the wait."""
    ids = burst(tmp_path, store, 4)
    soon, later, paused, past = ids
    sched = scheduler(tmp_path, store, Recording(), scheduler_loop_seconds=60)
    now = utcnow()
    due = {
        soon: now + timedelta(seconds=3),
        later: now + timedelta(seconds=40),
        paused: now + timedelta(seconds=0.1),
        past: now - timedelta(seconds=5),
    }
    with store.write() as conn:
        for dag_id, at in due.items():
            conn.execute(
                update(dag)
                .where(dag.c.dag_id == dag_id)
                .values(next_dagrun_create_after=at, is_paused=dag_id == paused)
            )
        # What the loop waits for: the soon one's due time (the past one is due now).
        assert due_times.next_due(conn, now) == due[soon]

    started = time.monotonic()
    sched.run(until=lambda: soon in runs_by_dag(store) or time.monotonic() - started > 90)
    with store.read() as conn:
        made = conn.execute(
            select(dag_run.c.queued_at).where(dag_run.c.dag_id == soon)
        ).scalar_one()
    assert made >= due[soon]
    assert made - due[soon] < timedelta(seconds=20)  # a loop later would be 60 s
    assert set(runs_by_dag(store)) == {soon, past}


def test_a_loop_whose_due_time_read_fails_waits_a_whole_loop(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The due time an earlier loop read is not kept past a loop that could not read it:
    once it has passed it would have the loops follow each other at once."""
    (soon,) = burst(tmp_path, store, 1)
    sched = scheduler(tmp_path, store, Recording(), scheduler_loop_seconds=30)
    with store.write() as conn:
        conn.execute(
            update(dag)
            .where(dag.c.dag_id == soon)
            .values(next_dagrun_create_after=utcnow() + timedelta(seconds=0.2))
        )
    sched.step()
    assert 0 <= sched._seconds_to_next_loop() <= 0.2

    def unreadable(*_: Any) -> None:
        raise RuntimeError("the due-time read failed")

    monkeypatch.setattr(due_times, "due_dags", unreadable)
    time.sleep(0.3)
    sched.step()  # the failure is recorded as the loop's problem, and the loop goes on
    assert sched._seconds_to_next_loop() == 30
