"""A human-in-the-loop approval on a real Celery worker (PostgreSQL store, Redis DB 3, its
own queue): the worker's try ends awaiting input, a person's answer resumes it on the
worker, and the task after it runs; a second approval rejected skips what follows."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import celery_settings, require_redis, start_worker, worker_env
from conftest import runs_finished
from conveyor.config import Settings
from conveyor.engine import awaiting_input
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.reads import tasks as task_reads
from conveyor.store.tables import task_try
from store_reads import returned

BROKER = "redis://127.0.0.1:6379/3"
QUEUE = "hitl_q"

DAG_FILE = """
    from datetime import datetime

    from airflow.sdk import DAG, task
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    with DAG("gated", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
             default_args={"queue": "@QUEUE@"}):
        gate = ApprovalOperator(task_id="gate", subject="Go?")

        @task
        def after():
            return "ran"

        gate >> after()
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Settings:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "gated.py").write_text(textwrap.dedent(DAG_FILE.replace("@QUEUE@", QUEUE)))
    return celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def worker(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = worker_env(settings, BROKER)
    with start_worker(
        QUEUE, "hitl@test", env, tmp_path / "worker.log", db_url=settings.db_url, at_once=True
    ) as process:
        yield process


def test_an_approval_waits_and_resumes_on_a_celery_worker(
    tmp_path: Path, settings: Settings, worker: subprocess.Popen[bytes]
) -> None:
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
        with store.write() as conn:
            approved = runs.create_manual_run(conn, "gated", created_by="test")
            rejected = runs.create_manual_run(conn, "gated", created_by="test")
        assert approved is not None and rejected is not None
        choices = {approved: "Approve", rejected: "Reject"}
        answered: set[int] = set()

        def answer_waiting() -> None:
            """What a person does on the Required actions page, once each run asks."""
            for run_pk, choice in choices.items():
                if run_pk in answered:
                    continue
                with store.read() as conn:
                    gate = next(
                        ti for ti in runs.task_instances(conn, run_pk) if ti.task_id == "gate"
                    )
                if gate.state is TaskState.AWAITING_INPUT:
                    person = {"id": "alice", "name": "Alice"}
                    awaiting_input.answer(store, gate.id, [choice], {}, person, Actor("user:a"))
                    answered.add(run_pk)

        done = runs_finished(store, [approved, rejected])
        deadline = time.monotonic() + 90

        def settled() -> bool:
            answer_waiting()
            return done() or time.monotonic() > deadline

        processor = DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=0.5)
        Scheduler(settings, store, CeleryExecutor(settings), processor).run(until=settled)
        assert done(), (tmp_path / "worker.log").read_text()[-3000:]
        assert answered == {approved, rejected}
        with store.read() as conn:
            assert runs.get_run(conn, approved).state is RunState.SUCCESS
            states = {ti.task_id: ti.state for ti in runs.task_instances(conn, rejected)}
        assert states == {"gate": TaskState.SUCCESS, "after": TaskState.SKIPPED}
        assert returned(store, approved, "after") == "ran"
        assert returned(store, approved, "gate")["chosen_options"] == ["Approve"]
        # The answer resumed the same try on the worker, in a dispatch of its own.
        with store.read() as conn:
            gate = task_reads.instance(conn, approved, "gate")
            assert gate is not None and (gate.try_number, gate.max_tries) == (1, 1)
            [one] = task_reads.tries(conn, [gate.id])
            dispatches = conn.execute(
                select(task_try.c.exit_kind, task_try.c.hostname)
                .where(task_try.c.ti_id == gate.id)
                .order_by(task_try.c.try_number)
            ).all()
        assert (one.try_number, one.state) == (1, "success")
        assert [d.exit_kind for d in dispatches] == ["awaiting_input", "return"]
        assert all(d.hostname for d in dispatches)  # both ran on the worker
    finally:
        store.dispose()
