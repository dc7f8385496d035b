"""Run timeouts (``dagrun_timeout``) and SLA misses, checked by the scheduler loop.

The decisions are pure functions of a run's start, its task states and the clock; ``check``
applies them. A run past its ``dagrun_timeout`` fails with the reason "run timed out" and
its failure callback is requested (``engine.runs.time_out_run``); a task with an ``sla``
that has not succeeded that long after its run started gets one ``sla_miss`` request (the
request's unique key makes it once per run and task).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from conveyor import callbacks
from conveyor.engine import deferral
from conveyor.engine.runs import time_out_run
from conveyor.lifecycle import SUCCEEDED_LIKE, Actor
from conveyor.scheduler.problems import Problems
from conveyor.serialized import SerializedDag
from conveyor.states import TaskState
from conveyor.store import callback_requests, runs, scheduling, triggers
from conveyor.store.engine import Store

#: States in which a task has met its SLA (or never will run for it to matter).
SLA_MET = SUCCEEDED_LIKE


def run_timeout(structure: SerializedDag) -> timedelta | None:
    seconds = structure.raw.get("dagrun_timeout")
    return None if seconds is None else timedelta(seconds=seconds)


def timed_out(started: datetime | None, timeout: timedelta | None, now: datetime) -> bool:
    return started is not None and timeout is not None and now - started > timeout


def sla_misses(
    structure: SerializedDag,
    started: datetime | None,
    states: Mapping[str, TaskState],
    now: datetime,
) -> list[tuple[str, timedelta]]:
    """(task_id, sla) of tasks not yet successful ``sla`` after the run started."""
    if started is None:
        return []
    missed = []
    for task_id, task in structure.tasks.items():
        seconds = task.raw.get("sla")
        if seconds is None:
            continue
        sla = timedelta(seconds=seconds)
        if now - started > sla and states.get(task_id, TaskState.NONE) not in SLA_MET:
            missed.append((task_id, sla))
    return missed


@dataclass
class Checked:
    timed_out: list[int] = field(default_factory=list)  # run pks failed now
    sla_missed: list[tuple[int, str]] = field(default_factory=list)  # (run pk, task id)


def check(store: Store, actor: Actor, now: datetime, problems: Problems | None = None) -> Checked:
    """Fail runs past their dagrun_timeout and request SLA-miss alerts; once a loop.

    ``problems``: check each run as a unit of its own (a run that raises is recorded and
    skipped); without it, the first error ends the check."""
    found = Checked()
    with store.read() as conn:
        candidates = []
        for row in scheduling.running_runs(conn):
            with _unit(problems, row):
                structure = runs.serialized_dag(conn, row.version_hash)
                wants_sla = callbacks.wants(structure, "sla_miss")
                if timed_out(row.start_date, run_timeout(structure), now) or wants_sla:
                    candidates.append((row, structure, wants_sla))
    for row, structure, wants_sla in candidates:
        with _unit(problems, row):
            timeout = run_timeout(structure)
            if timed_out(row.start_date, timeout, now):
                assert timeout is not None
                if time_out_run(store, row.id, structure, timeout, actor, now):
                    found.timed_out.append(row.id)
            elif wants_sla:
                found.sla_missed += _request_sla_misses(
                    store, row.id, structure, row.start_date, now
                )
    return found


def _unit(problems: Problems | None, run: scheduling.RunRef) -> AbstractContextManager[None]:
    if problems is None:
        return nullcontext()
    return problems.guard("check_timeouts", dag_id=run.dag_id, run_pk=run.id)


def _request_sla_misses(
    store: Store, run_pk: int, structure: SerializedDag, started: datetime | None, now: datetime
) -> list[tuple[int, str]]:
    with store.read() as conn:
        states = {ti.task_id: ti.state for ti in runs.task_instances(conn, run_pk)}
        already = scheduling.requested_callback_tasks(conn, run_pk, "sla_miss")
    missed = [
        (task_id, sla)
        for task_id, sla in sla_misses(structure, started, states, now)
        if task_id not in already
    ]
    if not missed:
        return []
    with store.write() as conn:
        for task_id, sla in missed:
            reason = (
                f"task {task_id!r} has not succeeded {sla.total_seconds():g}s after the run began"
            )
            callback_requests.request(conn, run_pk, "sla_miss", reason, task_id)
    return [(run_pk, task_id) for task_id, _ in missed]


def check_deferrals(
    store: Store,
    actor: Actor,
    now: datetime,
    problems: Problems | None = None,
    *,
    parallelism: int | None = None,
) -> list[int]:
    """Fail (or retry) deferred tries past their deferral's timeout, as Airflow's
    ``TaskDeferralTimeout`` does; the task instance ids moved."""
    with store.read() as conn:
        overdue = triggers.overdue(conn, now)
    moved = []
    for item in overdue:
        guard: AbstractContextManager[object] = (
            problems.guard("deferral_timeout", dag_id=item.dag_id, run_pk=item.run_pk)
            if problems is not None
            else nullcontext()
        )
        with guard:
            if deferral.time_out(store, item, actor, parallelism=parallelism).state is not None:
                moved.append(item.ti_id)
    return moved
