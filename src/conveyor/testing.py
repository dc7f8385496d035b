"""Run a DAG inside a test: the real planning and state machine, on an in-memory store.

    from conveyor.testing import run_dag

    def test_my_pipeline():
        result = run_dag(my_dag, conf={"day": "2026-01-01"})
        assert result.state == "success"
        assert result.xcom("transform") == [...]

No database, broker or server is started. Tasks run in the test's own process (so fixtures
and monkeypatching reach them), one at a time, in the order the scheduler would queue them.
Retry delays are skipped by default so a test with retries does not wait minutes.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conveyor import airflow_compat, xcom_serde
from conveyor.clock import utcnow
from conveyor.config import load_config
from conveyor.exceptions import ConveyorError
from conveyor.executors.inline import InlineExecutor
from conveyor.loading.serialize import serialize_dag
from conveyor.model.dag import DAG
from conveyor.model.task import DEFAULT_POOL
from conveyor.scheduler.loop import Scheduler
from conveyor.states import FAILED_LIKE, RUN_FINISHED, RunState, TaskState
from conveyor.store import pools, run_results, runs, schema, trigger
from conveyor.store.dags import ParsedFile, save_parsed_file
from conveyor.store.engine import Connection, Store
from conveyor.store.reads import tasks as task_reads
from conveyor.worker.runner import TryRunner

__all__ = ["DagRunResult", "TaskResult", "run_dag"]

# A test module imports its DAG files itself; Airflow-style ones need the import hook.
airflow_compat.activate()


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    state: TaskState
    tries: int
    error: str | None
    log: str


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    run_id: str
    state: RunState
    tasks: dict[str, TaskResult]
    xcoms: dict[tuple[str, str], Any]

    @property
    def succeeded(self) -> bool:
        return self.state is RunState.SUCCESS

    def task_state(self, task_id: str) -> TaskState:
        return self.tasks[task_id].state

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        """The XCom read back as its type (a datetime as a datetime; any class: a test reads
        its own tasks' values). ``xcoms`` holds them as the store keeps them."""
        return xcom_serde.decode(self.xcoms.get((task_id, key)), lambda _name: True)

    def raise_for_failure(self) -> None:
        """Raise AssertionError naming each failed task with its error, if the run failed."""
        if self.succeeded:
            return
        lines = [f"run {self.run_id} of {self.dag_id} ended {self.state.value}:"]
        for t in self.tasks.values():
            if t.state in FAILED_LIKE:
                lines.append(f"- {t.task_id}: {t.state.value}")
                if t.error:
                    lines.extend("    " + line for line in t.error.splitlines())
        raise AssertionError("\n".join(lines))


def run_dag(
    dag: DAG,
    *,
    conf: dict[str, Any] | None = None,
    logical_date: datetime | None = None,
    skip_retry_delays: bool = True,
    timeout: float = 300.0,
) -> DagRunResult:
    """Run ``dag`` once, to the end, and return what happened. A ``conf`` its params
    refuse raises ValueError naming the key, as triggering it would."""
    with tempfile.TemporaryDirectory(prefix="conveyor-test-") as home:
        settings = load_config(
            {}, home=home, database_url="sqlite://", scheduler_loop_seconds=0.01
        ).settings
        store = Store("sqlite://")
        try:
            schema.migrate(store)
            source = _source_of(dag)
            with store.write() as conn:
                save_parsed_file(
                    conn,
                    ParsedFile(
                        dag.fileloc or f"<{dag.dag_id}>", source, [serialize_dag(dag)], None, 0.0
                    ),
                    paused_at_creation=None,  # a throwaway store: the DAG given runs
                )
                pools.create_missing(  # the DAG's pools, without limits: a test has no cluster
                    conn, {getattr(t, "pool", DEFAULT_POOL) for t in dag.tasks}, "conveyor.testing"
                )
                if logical_date is not None and logical_date.tzinfo is None:
                    logical_date = logical_date.replace(tzinfo=dag.timezone)  # the DAG's own zone
                run_pk = trigger.trigger_run(  # conf refused: ConfRefused, a ValueError
                    conn,
                    dag.dag_id,
                    conf=conf,
                    created_by="conveyor.testing",
                    logical_date=logical_date.astimezone(UTC) if logical_date else None,
                    max_conf_bytes=settings.max_conf_bytes,
                ).id
            assert run_pk is not None
            runner = TryRunner(
                settings,
                store,
                resolve_dag=lambda *_: dag,
                output="python",
                in_process_timeouts=True,
            )
            executor = InlineExecutor(runner)
            scheduler = Scheduler(settings, store, executor, processor=None)
            scheduler.start()
            _drive(scheduler, executor, store, run_pk, skip_retry_delays, timeout)
            return _collect(store, run_pk)
        finally:
            store.dispose()  # its connection closed now, not by the garbage collector


def _source_of(dag: DAG) -> str:
    try:
        return Path(dag.fileloc).read_text() if dag.fileloc else ""
    except OSError:
        return ""


def _drive(
    scheduler: Scheduler,
    executor: InlineExecutor,
    store: Store,
    run_pk: int,
    skip_retry_delays: bool,
    timeout: float,
) -> None:
    deadline = utcnow() + timedelta(seconds=timeout)
    now = utcnow()
    while True:
        scheduler.step(now=now)
        if executor.poll(0) == 0:
            with store.read() as conn:
                if runs.get_run(conn, run_pk).state in RUN_FINISHED:
                    return
                next_retry = _next_retry(conn, run_pk)
            if next_retry is not None and skip_retry_delays:
                now = max(now, next_retry)  # jump ahead instead of sleeping through the delay
                continue
            scheduler.executor.poll(0.01)
        now = max(now, utcnow())
        if utcnow() > deadline:
            raise ConveyorError(f"run {run_pk} of the DAG did not finish within {timeout:g}s")


def _next_retry(conn: Connection, run_pk: int) -> datetime | None:
    waiting = [
        ti.retry_at
        for ti in runs.task_instances(conn, run_pk)
        if ti.state is TaskState.UP_FOR_RETRY and ti.retry_at is not None
    ]
    return min(waiting, default=None)


def _collect(store: Store, run_pk: int) -> DagRunResult:
    with store.read() as conn:
        run = runs.get_run(conn, run_pk)
        tis = runs.task_instances(conn, run_pk)
        # The tries as people count them (a poke or a resumption continues its try).
        shown_tries = {row.id: row.try_number for row in task_reads.instances(conn, run_pk)}
        tries = run_results.tries_of_run(conn, run_pk)
        values = run_results.xcoms_of_run(conn, run_pk)
    last_try = {t.ti_id: t for t in tries}
    tasks = {}
    for ti in tis:
        last = last_try.get(ti.id)
        log_text = ""
        if last is not None and last.log_path:
            path = Path(last.log_path)
            log_text = path.read_text(errors="replace") if path.exists() else ""
        tasks[ti.task_id] = TaskResult(
            task_id=ti.task_id,
            state=ti.state,
            tries=shown_tries[ti.id],
            error=last.error if last is not None else None,
            log=log_text,
        )
    return DagRunResult(
        dag_id=run.dag_id,
        run_id=run.run_id,
        state=run.state,
        tasks=tasks,
        xcoms={(x.task_id, x.key): x.value for x in values},
    )
