"""The scheduler loop plans a running run whole only when something touched it or came due.

Each test drives the loop's ``advance_running_runs`` by hand on a real store (both stores),
plays the tries itself (an executor that starts nothing), and counts the loop's whole-run
reads (``runs.task_instances``) per run: a run nobody touched must not be read each loop,
while each case the net covers (a new run, a retry that came due, a clear, an unpause, the
run before it under ``depends_on_past``, a run with nothing left moving, the periodic sweep)
still gets its plan.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import make_settings
from conveyor.clock import utcnow
from conveyor.engine import manual
from conveyor.engine.progress import QueuedTry
from conveyor.engine.report import Happened, Raised, Returned
from conveyor.engine.tries import TryEnd
from conveyor.executors.base import Executor
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import ExitKind, RunState, TaskState
from conveyor.store import dag_actions, plan_requests, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock
from conveyor.store.tables import run_plan_request
from conveyor.worker.runner import TryRunner

DAGS = """
    from datetime import timedelta
    from conveyor import DAG, EmptyOperator

    with DAG("chain", max_active_runs=4) as chain:
        a = EmptyOperator(task_id="a", retries=1, retry_delay=timedelta(minutes=5))
        a >> EmptyOperator(task_id="b")
        EmptyOperator(task_id="side")  # left queued: keeps the run moving

    with DAG("past", max_active_runs=4) as past:
        EmptyOperator(task_id="t", depends_on_past=True)
        EmptyOperator(task_id="side")

    with DAG("single") as single:
        EmptyOperator(task_id="only")
"""
SWEEP = 3600.0  # long enough that no test but the sweep's own sees one
ACTOR = Actor("user:test")


class Holding(Executor):
    """Starts nothing: the test plays each try itself."""

    def start(self) -> None: ...

    def submit(self, tries: list[QueuedTry]) -> None: ...

    def poll(self, timeout: float) -> int:
        return 0

    def holds(self, ti_id: int) -> bool:
        return True

    def free_slots(self) -> int:
        return 100

    def stop(self, grace: float) -> None: ...


class Net:
    """A scheduler on the test's store, and the whole-run reads its loop makes."""

    def __init__(self, tmp_path: Path, store: Store, patch: pytest.MonkeyPatch) -> None:
        dags = tmp_path / "dags"
        dags.mkdir(exist_ok=True)
        (dags / "dags.py").write_text(textwrap.dedent(DAGS))
        DagFileProcessor(store, dags, timeout=10, scan_every=60).sync()
        self.store = store
        self.settings = make_settings(tmp_path, dags, store.url, run_sweep_seconds=SWEEP)
        self.scheduler = self.new_scheduler()
        self.runner = TryRunner(self.settings, store)
        self.reads: Counter[int] = Counter()
        self._counting = False
        whole = runs.task_instances

        def counted(conn: Any, run_pk: int) -> Any:
            if self._counting:
                self.reads[run_pk] += 1
            return whole(conn, run_pk)

        patch.setattr(runs, "task_instances", counted)

    def new_scheduler(self, **overrides: Any) -> Scheduler:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        return Scheduler(settings, self.store, Holding(), processor=None)

    def loop(self, now: datetime, scheduler: Scheduler | None = None) -> None:
        """The loop's part that advances running runs; then hand out what it scheduled."""
        scheduler = scheduler or self.scheduler
        scheduler.start_queued_runs()
        self._counting = True
        try:
            scheduler.advance_running_runs(now)
        finally:
            self._counting = False
        scheduler.dispatch()

    def started(self, dag_id: str) -> tuple[int, datetime]:
        """A run of ``dag_id`` taken through the loop once, now: its pk and that time."""
        run_pk, now = self.start_run(dag_id), utcnow()
        self.loop(now)
        return run_pk, now

    def start_run(self, dag_id: str, logical_date: datetime | None = None) -> int:
        with self.store.write() as conn:
            run_pk = runs.create_manual_run(
                conn, dag_id, created_by="test", logical_date=logical_date
            )
        assert run_pk is not None
        return run_pk

    def states(self, run_pk: int) -> dict[str, TaskState]:
        with self.store.read() as conn:
            return {ti.task_id: ti.state for ti in runs.task_instances(conn, run_pk)}

    def instance(self, run_pk: int, task_id: str) -> runs.TiRow:
        with self.store.read() as conn:
            return next(t for t in runs.task_instances(conn, run_pk) if t.task_id == task_id)

    def finish(self, run_pk: int, task_id: str, happened: Happened) -> None:
        """Play the queued try of ``task_id`` to its end as ``happened`` (the fast path)."""
        ti = self.instance(run_pk, task_id)
        assert ti.state is TaskState.QUEUED, f"{task_id} is {ti.state}"
        assert self.runner._start(ti.id, ti.try_number) is not None
        end = TryEnd(ti.id, ti.try_number, run_pk, task_id, happened, ti.max_tries)
        self.runner.record(end)

    def run_state(self, run_pk: int) -> RunState:
        with self.store.read() as conn:
            return runs.get_run(conn, run_pk).state

    def requests(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(run_plan_request)).scalar())


SUCCESS = Returned()


@pytest.fixture
def net(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    yield Net(tmp_path, store, monkeypatch)


def test_an_untouched_run_is_planned_once_then_only_by_the_sweep(net: Net) -> None:
    run_pk, now = net.started("chain")
    assert net.reads[run_pk] == 1  # new to this scheduler
    assert net.states(run_pk)["a"] is TaskState.QUEUED
    for _ in range(5):
        net.loop(now)
    assert net.reads[run_pk] == 1, "a run nobody touched was read whole again"

    net.loop(now + timedelta(seconds=SWEEP - 1))
    assert net.reads[run_pk] == 1
    net.loop(now + timedelta(seconds=SWEEP))
    assert net.reads[run_pk] == 2  # the last resort
    net.loop(now + timedelta(seconds=SWEEP))
    assert net.reads[run_pk] == 2

    restarted = net.new_scheduler()
    net.loop(now, restarted)
    assert net.reads[run_pk] == 3  # a scheduler that (re)starts plans every running run once


def test_the_sweep_has_its_own_setting(net: Net) -> None:
    run_pk, now = net.start_run("chain"), utcnow()
    quick = net.new_scheduler(run_sweep_seconds=5)
    net.loop(now, quick)
    net.loop(now + timedelta(seconds=4), quick)
    assert net.reads[run_pk] == 1
    net.loop(now + timedelta(seconds=5), quick)
    assert net.reads[run_pk] == 2


def _a_waits_for_its_retry(net: Net) -> tuple[int, datetime, datetime]:
    """A running ``chain`` whose ``a`` failed its first try and retries in five minutes: the
    run's pk, the time it started and the time of the retry."""
    run_pk, now = net.started("chain")
    net.finish(run_pk, "a", Raised(ExitKind.EXCEPTION, "x"))
    retry_at = net.instance(run_pk, "a").retry_at  # five minutes after the recorded end
    assert retry_at is not None and retry_at - now >= timedelta(minutes=5)
    return run_pk, now, retry_at


def test_a_retry_is_planned_when_it_comes_due(net: Net) -> None:
    run_pk, now, retry_at = _a_waits_for_its_retry(net)
    net.loop(now + timedelta(minutes=4))
    assert net.reads[run_pk] == 1  # the retry waits: nothing to plan
    assert net.states(run_pk)["a"] is TaskState.UP_FOR_RETRY

    net.loop(retry_at)
    assert net.reads[run_pk] == 2
    a = net.instance(run_pk, "a")
    assert (a.state, a.try_number) == (TaskState.QUEUED, 2)
    net.loop(retry_at)
    assert net.reads[run_pk] == 2  # the retry is under way: not planned again


def test_a_cleared_task_of_a_running_run_is_planned(net: Net) -> None:
    run_pk, now = net.started("chain")
    net.finish(run_pk, "a", SUCCESS)
    net.finish(run_pk, "b", SUCCESS)  # queued by a's end: the fast path
    net.loop(now)
    assert net.reads[run_pk] == 1

    with net.store.write() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
        cleared = manual.clear(conn, "chain", run_id, "b", ACTOR)
    assert cleared.changed == ["b"] and cleared.run_state is RunState.RUNNING
    assert net.states(run_pk)["b"] is TaskState.NONE
    net.loop(now)
    assert net.reads[run_pk] == 2
    assert net.states(run_pk)["b"] is TaskState.QUEUED
    assert net.requests() == 0  # the request was met
    net.loop(now)
    assert net.reads[run_pk] == 2


def test_a_mark_by_hand_is_planned(net: Net) -> None:
    run_pk, now, _ = _a_waits_for_its_retry(net)
    net.loop(now)
    with net.store.write() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
        marked = manual.mark(conn, "chain", run_id, "a", TaskState.SUCCESS, ACTOR)
    assert marked.changed == ["a"]
    reads = net.reads[run_pk]
    net.loop(now)
    assert net.reads[run_pk] == reads + 1
    assert net.states(run_pk)["b"] is TaskState.QUEUED


def test_unpausing_a_dag_plans_its_running_runs(net: Net) -> None:
    run_pk, now = net.started("chain")
    with net.store.write() as conn:
        dag_actions.set_paused(conn, "chain", True)
    net.finish(run_pk, "a", SUCCESS)  # a paused DAG starts nothing new
    net.finish(run_pk, "side", SUCCESS)
    assert net.states(run_pk)["b"] is TaskState.NONE
    net.loop(now)  # nothing moves any more: planned once (it is paused: nothing to do)
    net.loop(now)
    assert net.states(run_pk)["b"] is TaskState.NONE
    assert net.run_state(run_pk) is RunState.RUNNING

    with net.store.write() as conn:
        dag_actions.set_paused(conn, "chain", False)
    net.loop(now)
    assert net.states(run_pk)["b"] is TaskState.QUEUED


def test_a_depends_on_past_task_goes_once_the_run_before_moves_on(net: Net) -> None:
    now = utcnow()
    first = net.start_run("past", now - timedelta(days=2))
    second = net.start_run("past", now - timedelta(days=1))
    net.loop(now)
    assert net.states(first)["t"] is TaskState.QUEUED
    assert net.states(second)["t"] is TaskState.NONE  # waits for the first run's t
    net.loop(now)
    reads = net.reads[second]

    net.finish(first, "t", SUCCESS)
    net.loop(now)
    assert net.reads[second] == reads + 1
    assert net.states(second)["t"] is TaskState.QUEUED


def test_a_run_with_nothing_moving_is_ended_by_the_loop(net: Net) -> None:
    run_pk, now = net.started("single")
    only = net.instance(run_pk, "only")
    with net.store.write() as conn:  # a move that did not advance the run (a crash after it)
        assert transitions.set_by_hand(conn, only.id, TaskState.SUCCESS, ACTOR, retries=0)
    assert net.run_state(run_pk) is RunState.RUNNING
    net.loop(now)
    assert net.run_state(run_pk) is RunState.SUCCESS

    with net.store.write() as conn:  # a request for a run that is not running: dropped
        plan_requests.request_plan(conn, run_pk)
    net.loop(now)
    assert net.requests() == 0


def test_a_run_another_writer_holds_keeps_its_request_for_the_next_loop(net: Net) -> None:
    if net.store.is_sqlite:
        pytest.skip("row locks: SQLite's single writer serializes the loop behind the holder")
    run_pk, now = net.started("chain")
    net.finish(run_pk, "a", SUCCESS)
    net.finish(run_pk, "b", SUCCESS)
    with net.store.write() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
        manual.clear(conn, "chain", run_id, "b", ACTOR)
    other = net.new_scheduler()  # a second scheduler: it takes the request when it can
    with net.store.write() as conn:
        run_lock.lock_run(conn, run_pk)  # a finishing try, or the first scheduler, holds the run
        net.loop(now, other)
    assert net.states(run_pk)["b"] is TaskState.NONE
    assert net.requests() == 1  # skipped, not met
    net.loop(now, other)
    assert net.states(run_pk)["b"] is TaskState.QUEUED
    assert net.requests() == 0
