"""Deadline alerts through the real scheduler, on both stores: a run that misses its
deadline gets its callback once, with Airflow's context; one that succeeds in time never;
a deadline already past when the run is made is acted on at once; two schedulers deciding
the same deadlines ask for each callback once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import run_scheduler
from conveyor.cli.runs import deadline_line
from conveyor.clock import utcnow
from conveyor.engine import manual
from conveyor.lifecycle import Actor
from conveyor.scheduler import deadlines as scheduler_deadlines
from conveyor.states import RunState
from conveyor.stats import emit
from conveyor.store import deadlines
from conveyor.store.engine import Store
from conveyor.store.tables import callback_request, run_deadline
from conveyor.web import queries
from run_env import Env

DAGS = """
import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import (
    DAG, AsyncCallback, DeadlineAlert, DeadlineReference, SyncCallback, task,
)
from airflow.providers.standard.operators.bash import BashOperator

OUT = Path("@TMP@") / "deadline_calls.jsonl"


def record(tag, context=None):
    with open(OUT, "a") as handle:
        handle.write(json.dumps({"tag": tag, "context": context}, default=str) + "\\n")


async def record_later(tag, context):
    await asyncio.sleep(0)
    record(tag, context)


with DAG(
    "slow_run",
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=1),
        callback=SyncCallback(record, kwargs={"tag": "slow"}),
        name="one second",
    ),
):
    BashOperator(task_id="crawl", bash_command="sleep 4")

with DAG(
    "quick_run",
    deadline=[
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=timedelta(hours=1),
            callback=SyncCallback(record, kwargs={"tag": "quick"}),
        ),
    ],
):
    @task
    def hop():
        return 1

    hop()

def page_oncall(context):
    raise RuntimeError("the pager is down")


with DAG(
    "already_late",
    deadline=[
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=timedelta(minutes=5),
            callback=AsyncCallback(record_later, kwargs={"tag": "late"}),
        ),
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=timedelta(minutes=10),
            callback=SyncCallback(page_oncall),
            name="pager",
        ),
    ],
):
    BashOperator(task_id="wait", bash_command="sleep 2")
"""


def _calls(env: Env) -> list[dict[str, Any]]:
    path = env.tmp / "deadline_calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _requests(store: Store) -> list[Any]:
    with store.read() as conn:
        return list(conn.execute(select(callback_request).order_by(callback_request.c.id)))


def _callback_done(env: Env, run_pk: int) -> Any:
    def check() -> bool:
        done = [r for r in _requests(env.store) if r.run_pk == run_pk and r.state == "done"]
        return env.run_state(run_pk) in (RunState.SUCCESS, RunState.FAILED) and len(done) == 1

    return check


def test_a_run_that_misses_its_deadline_gets_its_callback_once_with_airflows_context(
    env: Env,
) -> None:
    env.write_dag("deadlines.py", DAGS, header=False)
    env.sync()
    run_pk = env.trigger("slow_run")
    run_scheduler(env.settings(), env.store, _callback_done(env, run_pk), limit=40)

    assert env.run_state(run_pk) is RunState.SUCCESS  # it ran to the end, late
    calls = _calls(env)
    assert [call["tag"] for call in calls] == ["slow"]
    context = calls[0]["context"]
    run = env.dag_runs("slow_run")[0]
    assert context["dag_run"]["dag_run_id"] == run.run_id
    assert context["dag_run"]["dag_id"] == "slow_run"
    assert context["dag_run"]["state"] in ("queued", "running")  # as it was when missed
    with env.store.read() as conn:
        (deadline,) = deadlines.of_run(conn, run_pk)
    assert deadline.state == "missed" and deadline.name == "one second"
    assert context["deadline"]["id"] == str(deadline.id)
    assert context["deadline"]["deadline_time"].startswith(deadline.deadline_at.date().isoformat())
    assert deadline.callback_state == "done" and deadline.callback_error is None
    requests = _requests(env.store)
    assert [(r.kind, r.task_id, r.state) for r in requests] == [("deadline", "0", "done")]
    assert "deadline 'one second' (DagRunQueuedAtDeadline) passed at" in requests[0].reason


class _Recorder:
    """A metrics sink that keeps what it is sent: Airflow's deadline_alerts.* counters."""

    where = "a test's list"

    def __init__(self) -> None:
        self.sent: list[tuple[str, float, dict[str, str]]] = []

    def send(self, kind: str, name: str, value: float, tags: Any) -> None:
        self.sent.append((name, value, dict(tags)))

    def close(self) -> None:
        pass


def _recording(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(emit, "_sinks", (recorder,))
    return recorder


def test_a_run_that_succeeds_in_time_never_gets_the_callback(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_dag("deadlines.py", DAGS, header=False)
    env.sync()
    made = _recording(monkeypatch)
    run_pk = env.trigger("quick_run")
    deadline_metrics = [sent for sent in made.sent if sent[0].startswith("deadline_alerts.")]
    assert deadline_metrics == [("deadline_alerts.deadline_created", 1, {"dag_id": "quick_run"})]
    env.run(run_pk, limit=30)
    assert env.run_state(run_pk) is RunState.SUCCESS

    # The hour passes: the loop's check decides the deadline, which the run met.
    with env.store.read() as conn:
        assert deadlines.due(conn, utcnow()) == []  # not yet due: nothing read
    decided = _recording(monkeypatch)
    (decision,) = scheduler_deadlines.check(env.store, utcnow() + timedelta(hours=2))
    assert (decision.run_pk, decision.state) == (run_pk, "met")
    run_id = env.dag_runs("quick_run")[0].run_id
    assert decided.sent == [
        ("deadline_alerts.deadline_not_missed", 1, {"dag_id": "quick_run", "dagrun_id": run_id})
    ]
    assert scheduler_deadlines.check(env.store, utcnow() + timedelta(hours=3)) == []
    with env.store.read() as conn:
        (deadline,) = deadlines.of_run(conn, run_pk)
        (grid_run,) = queries.grid(conn, "quick_run", 10).runs
    assert deadline.state == "met" and deadline.callback_state is None
    assert grid_run.deadline_missed is False  # the grid marks no bar
    assert _requests(env.store) == []
    assert _calls(env) == []


def test_a_run_that_succeeded_in_time_and_is_cleared_keeps_its_deadline_met(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_dag("deadlines.py", DAGS, header=False)
    env.sync()
    run_pk = env.trigger("quick_run")
    env.run(run_pk, limit=30)
    run_id = env.dag_runs("quick_run")[0].run_id
    settled = _recording(monkeypatch)
    with env.store.write() as conn:
        manual.clear_tasks(conn, "quick_run", run_id, None, Actor("person"))
    # Met when the run succeeded in time, as Airflow counts it then.
    assert settled.sent == [
        ("deadline_alerts.deadline_not_missed", 1, {"dag_id": "quick_run", "dagrun_id": run_id})
    ]
    assert env.run_state(run_pk) is RunState.QUEUED
    with env.store.read() as conn:
        (deadline,) = deadlines.of_run(conn, run_pk)
    assert deadline.state == "met"  # as Airflow: its success in time settled it
    # Queued again when the hour passes: the deadline is not missed, no callback is asked.
    assert scheduler_deadlines.check(env.store, utcnow() + timedelta(hours=2)) == []
    assert _requests(env.store) == []


def test_a_deadline_already_past_when_the_run_is_made_is_acted_on_at_once(env: Env) -> None:
    env.write_dag("deadlines.py", DAGS, header=False)
    env.sync()
    # The logical date is a day ago: the deadline (five minutes after it) has passed.
    run_pk = env.trigger("already_late", at=utcnow() - timedelta(days=1))
    with env.store.read() as conn:
        first, second = deadlines.of_run(conn, run_pk)
    assert first.state == second.state == "pending" and second.deadline_at < utcnow()

    def called() -> bool:
        ran = [r for r in _requests(env.store) if r.state in ("done", "failed")]
        return len(ran) == 2 and env.run_state(run_pk) is RunState.SUCCESS

    run_scheduler(env.settings(), env.store, called, limit=40)
    (call,) = _calls(env)
    assert call["tag"] == "late"  # the AsyncCallback, awaited with its kwargs and context
    assert call["context"]["dag_run"]["dag_id"] == "already_late"
    # What users see of the run: each deadline, and the callback's outcome.
    run_id = env.dag_runs("already_late")[0].run_id
    with env.store.read() as conn:
        detail = queries.get_run(conn, "already_late", run_id)
        (grid_run,) = queries.grid(conn, "already_late", 10).runs
    assert grid_run.run_id == run_id and grid_run.deadline_missed is True  # its bar is marked
    late, pager = detail.deadlines
    assert (late.state, late.callback_state, late.callback_error) == ("missed", "done", None)
    assert (pager.name, pager.state, pager.callback_state) == ("pager", "missed", "failed")
    assert pager.callback_error is not None
    assert "RuntimeError: the pager is down" in pager.callback_error
    assert deadline_line(pager).startswith("deadline 'pager' (DagRunLogicalDateDeadline) at ")
    assert deadline_line(pager).endswith("missed; callback failed: " + pager.callback_error)


def test_two_schedulers_deciding_the_same_deadlines_ask_for_each_callback_once(
    env: Env,
) -> None:
    env.write_dag("deadlines.py", DAGS, header=False)
    env.sync()
    run_pks = [env.trigger("slow_run", at=utcnow() - timedelta(minutes=n)) for n in range(12)]
    later = utcnow() + timedelta(minutes=5)
    other = Store(env.store.url)
    barrier = threading.Barrier(2)
    decided: list[list[deadlines.Decision]] = [[], []]

    def decide(slot: int, store: Store) -> None:
        barrier.wait()
        decided[slot] = scheduler_deadlines.check(store, later)

    threads = [
        threading.Thread(target=decide, args=(0, env.store)),
        threading.Thread(target=decide, args=(1, other)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        other.dispose()
    every = [d.run_pk for d in decided[0] + decided[1]]
    assert sorted(every) == sorted(run_pks)  # each decided by exactly one of the two
    assert all(d.state == "missed" for d in decided[0] + decided[1])
    requests = _requests(env.store)
    assert sorted(r.run_pk for r in requests) == sorted(run_pks)
    with env.store.read() as conn:
        pending = conn.execute(
            select(func.count()).where(run_deadline.c.state == "pending")
        ).scalar_one()
    assert pending == 0
