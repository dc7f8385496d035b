"""What a person does to a run by hand: clear task instances or mark them success/failed.

Each action locks the run first (the order every writer of a run keeps), moves each task
instance with ``transitions.set_by_hand`` (so the timeline says who and why), and sends a
finished run back to ``queued`` so the scheduler takes it up again: a cleared task runs
again, and a marked one lets the scheduler work out the run's new state.

Task instances that a process holds right now (queued, running) are left alone: clearing
one under its process would start a second try beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from conveyor.exceptions import NotFoundError
from conveyor.states import FAILED_LIKE, IN_FLIGHT, RUN_FINISHED, RunState, TaskState
from conveyor.store import plan_requests, runs, transitions
from conveyor.store.runs import RunRow, TiRow
from conveyor.store.transitions import Actor


@dataclass(frozen=True)
class ManualResult:
    changed: list[str]  # task ids whose state this action changed
    skipped_in_flight: list[str]  # task ids left alone because a process holds them
    run_state: RunState


def _downstream(run: RunRow, conn: Connection, task_id: str) -> list[str]:
    """``task_id`` and everything downstream of it, in the DAG's order."""
    structure = runs.serialized_dag(conn, run.version_hash)
    found = {task_id}
    for tid, task in structure.tasks.items():  # topological order: upstream first
        if any(up in found for up in task.upstream):
            found.add(tid)
    return [tid for tid in structure.tasks if tid in found] + (
        [task_id] if task_id not in structure.tasks else []
    )


def _locked_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    run = runs.find_run(conn, dag_id, run_id)
    return runs.lock_run(conn, run.id)


def _rerun(conn: Connection, run: RunRow, what: str) -> RunState:
    """A finished run whose tasks a person changed goes back to queued for the scheduler."""
    if run.state not in RUN_FINISHED:
        return run.state
    moved = transitions.move_run(
        conn,
        run.id,
        expected=[run.state],
        to=RunState.QUEUED,
        values={"end_date": None, "note": what},
    )
    return RunState.QUEUED if moved else runs.get_run(conn, run.id).state


def clear(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_id: str,
    actor: Actor,
    *,
    downstream: bool = False,
    only_failed: bool = False,
) -> ManualResult:
    """Clear a task instance (and its downstream) so that it runs again."""
    run = _locked_run(conn, dag_id, run_id)
    tis = _instances_by_task(conn, run)
    if task_id not in tis:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    targets = _downstream(run, conn, task_id) if downstream else [task_id]
    structure = runs.serialized_dag(conn, run.version_hash)
    changed: list[str] = []
    in_flight: list[str] = []
    for tid in targets:
        for ti in tis.get(tid, []):  # a mapped task: each of its instances
            if ti.state in IN_FLIGHT:
                in_flight.append(tid)
                continue
            if only_failed and ti.state not in FAILED_LIKE:
                continue
            if ti.state is TaskState.NONE:
                continue
            retries = structure.tasks[tid].retries if tid in structure.tasks else 0
            if transitions.set_by_hand(conn, ti.id, TaskState.NONE, actor, retries=retries):
                changed.append(tid)
    changed = list(dict.fromkeys(changed))
    in_flight = list(dict.fromkeys(in_flight))
    if changed:
        _ask_for_plans(conn, run)
    state = (
        _rerun(conn, run, f"cleared {', '.join(changed)} by {actor.name}") if changed else run.state
    )
    return ManualResult(changed, in_flight, state)


def mark(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_id: str,
    to: TaskState,
    actor: Actor,
) -> ManualResult:
    """Mark a task instance success or failed, as if its try had ended so."""
    if to not in (TaskState.SUCCESS, TaskState.FAILED):
        raise ValueError(f"a task can be marked success or failed, not {to}")
    run = _locked_run(conn, dag_id, run_id)
    instances = _instances_by_task(conn, run).get(task_id)
    if not instances:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    if any(ti.state in IN_FLIGHT for ti in instances):
        return ManualResult([], [task_id], run.state)
    moved = [
        ti
        for ti in instances  # a mapped task: all of its instances
        if ti.state is not to and transitions.set_by_hand(conn, ti.id, to, actor, retries=0)
    ]
    if not moved:
        return ManualResult([], [], run.state)
    _ask_for_plans(conn, run)
    state = _rerun(conn, run, f"{task_id} marked {to.value} by {actor.name}")
    return ManualResult([task_id], [], state)


def _ask_for_plans(conn: Connection, run: RunRow) -> None:
    """A running run is not sent back: the scheduler plans it whole in its next loop, and
    the run after it, whose ``depends_on_past`` tasks look at this one's."""
    plan_requests.request_plan(conn, run.id)
    plan_requests.request_plan_of_next_run(conn, run)


def _instances_by_task(conn: Connection, run: RunRow) -> dict[str, list[TiRow]]:
    """Each task's instances: one, or one per map index for a mapped task."""
    found: dict[str, list[TiRow]] = {}
    for ti in runs.task_instances(conn, run.id):
        found.setdefault(ti.task_id, []).append(ti)
    return found
