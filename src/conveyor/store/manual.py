"""What a person does to a run by hand: clear task instances or mark them success/failed.

The web API and the CLI both call these functions, so a clear or a mark follows the same
rules whichever surface a person uses.

Each action locks the run first (the order every writer of a run keeps), moves each task
instance with ``transitions.set_by_hand`` (so the timeline says who and why), and sends a
finished run back to ``queued`` so the scheduler takes it up again: a cleared task runs
again, and a marked one lets the scheduler work out the run's new state. Marking a task
success also clears the failed and upstream_failed tasks below it, so that the run carries
on from there (Airflow's ``set_task_instance_state``).

Marking a whole run is the exception: the run itself moves to the state asked for at once
("failed -> success"), its start and end kept, since nothing is left for the scheduler to do.

A queued or running try is ended too, as in Airflow: the store moves it at once (the try's
own late report then finds it ended), and a running one's process is stopped by its executor
(``store/stops.py``: SIGTERM to its process group, the operator's ``on_kill``, SIGKILL after
``kill_grace_seconds``). A cleared running try goes up for retry, its next try due once the
process is stopped, so no second try runs beside it.

Once a mark commits, :func:`on_marks`'s hook is told which task instances it marked (a
whole run's mark: those whose try it ended), as Airflow's API calls the task instance
listeners then (``engine/run_listeners.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

from sqlalchemy import Connection, func

from conveyor.clock import utcnow
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import MARK_TARGETS, Actor
from conveyor.serialized import SerializedDag
from conveyor.states import FAILED_LIKE, FINISHED, IN_FLIGHT, RUN_FINISHED, RunState, TaskState
from conveyor.store import deadlines, plan_requests, runs, ti_deletion, transitions
from conveyor.store.engine import after_commit
from conveyor.store.hop import run_lock
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow, TiRow
from conveyor.store.tables import dag_run

#: Told of each mark a person's action committed (never of one rolled back, as an API dry
#: run): a reader of the task instances it moved, each with its run, and the state.
MarkedRows = list[tuple[RunRow, task_reads.InstanceRow]]
Marked = Callable[[Callable[[], MarkedRows], TaskState], None]
_marked: Marked | None = None


def on_marks(hook: Marked | None) -> None:
    """Tell ``hook`` of the marks this process commits (None: tell no one)."""
    global _marked
    _marked = hook


def _tell(conn: Connection, ti_ids: list[int], to: TaskState) -> None:
    hook = _marked
    if hook is None or not ti_ids:
        return
    engine = conn.engine

    def read() -> MarkedRows:
        found = []
        with engine.connect() as fresh:
            for ti_id in ti_ids:
                row = task_reads.instance_by_id(fresh, ti_id)
                if row is not None:
                    found.append((runs.get_run(fresh, row.run_pk), row))
        return found

    after_commit(conn, lambda: hook(read, to))


@dataclass(frozen=True)
class ManualResult:
    changed: list[str]  # task ids whose state this action changed
    stopped: list[str]  # of those, the task ids whose queued or running try it ended
    run_state: RunState


def related_tasks(
    structure: SerializedDag,
    task_ids: Sequence[str],
    *,
    upstream: bool = False,
    downstream: bool = False,
) -> list[str]:
    """``task_ids`` with, if asked, everything upstream and/or downstream of them, in the
    DAG's order (ids the structure does not know come last, as given)."""
    found = set(task_ids)
    order = list(structure.tasks)  # topological: upstream first
    if downstream:
        for tid in order:
            if any(up in found for up in structure.tasks[tid].upstream):
                found.add(tid)
    if upstream:
        above = set(task_ids)
        for tid in reversed(order):
            if tid in above:
                above.update(structure.tasks[tid].upstream)
        found |= above
    return [tid for tid in order if tid in found] + [
        tid for tid in dict.fromkeys(task_ids) if tid not in structure.tasks
    ]


def locked_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    """The run, its row locked for this transaction (a person's action waits for the engine
    and for another person's); ``NotFoundError`` if there is no such run."""
    run = runs.find_run(conn, dag_id, run_id)
    return run_lock.lock_run(conn, run.id)


def _rerun(conn: Connection, run: RunRow, what: str) -> RunState:
    """A finished run whose tasks a person changed goes back to queued for the scheduler."""
    if run.state not in RUN_FINISHED:
        return run.state
    if run.state is RunState.SUCCESS:  # its deadlines met by that success stay met
        deadlines.settle_met(conn, run.id)
    moved = transitions.move_run(
        conn,
        run.id,
        expected=[run.state],
        to=RunState.QUEUED,
        values={"end_date": None, "note": what},
    )
    if not moved:
        return runs.get_run(conn, run.id).state
    ti_deletion.restore_deleted_instances(conn, run)  # or the run would wait for them
    return RunState.QUEUED


@dataclass(frozen=True)
class ClearPlan:
    """What a clear would do: the task instances it would reset, and of those the ones
    queued or running now, whose try it ends (their process is stopped)."""

    targets: list[TiRow]
    in_flight: list[TiRow]


def plan_clear(
    conn: Connection,
    run: RunRow,
    task_ids: Sequence[str] | None,
    *,
    upstream: bool = False,
    downstream: bool = False,
    only_failed: bool = False,
    only_running: bool = False,
    map_index: int | None = None,
    instances: Mapping[str, Collection[int]] | None = None,
) -> ClearPlan:
    """The task instances that clearing ``task_ids`` (None: every task of the run) would
    reset, without writing; the CLI lists them before it asks, and :func:`clear_tasks`
    resets exactly these. ``map_index``: of a chosen mapped task, only that instance;
    ``instances``: of the chosen tasks it names, only those map indexes (the tasks up- or
    downstream of them are cleared whole). ``only_running``: only running ones (Airflow's)."""
    tis = _instances_by_task(conn, run)
    chosen = list(tis) if task_ids is None else list(task_ids)
    missing = [tid for tid in chosen if tid not in tis]
    if missing:
        raise NotFoundError(
            f"run {run.run_id!r} of DAG {run.dag_id!r} has no task {', '.join(map(repr, missing))}"
        )
    only = _only_instances(run, chosen, tis, map_index, instances)
    structure = runs.serialized_dag(conn, run.version_hash)
    selected = related_tasks(structure, chosen, upstream=upstream, downstream=downstream)
    targets: list[TiRow] = []
    in_flight: list[TiRow] = []
    for tid in selected:
        for ti in tis.get(tid, []):  # a mapped task: each of its instances
            if tid in only and ti.map_index not in only[tid]:
                continue
            if only_running and ti.state is not TaskState.RUNNING:
                continue
            if ti.state in IN_FLIGHT and not only_failed:
                in_flight.append(ti)
                targets.append(ti)
            elif ti.state is not TaskState.NONE and (not only_failed or ti.state in FAILED_LIKE):
                targets.append(ti)
    return ClearPlan(targets, in_flight)


class ClearOptions(TypedDict, total=False):
    """How far a clear reaches, as :func:`clear_tasks` takes it."""

    upstream: bool
    downstream: bool
    only_failed: bool
    only_running: bool
    map_index: int | None
    instances: Mapping[str, Collection[int]] | None


def clear(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_id: str,
    actor: Actor,
    **options: Unpack[ClearOptions],
) -> ManualResult:
    """Clear a task instance (and its upstream or downstream) so that it runs again;
    ``map_index``: one instance of a mapped task (None: the task, all of its instances)."""
    return clear_tasks(conn, dag_id, run_id, [task_id], actor, **options)


def clear_tasks(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_ids: Sequence[str] | None,
    actor: Actor,
    *,
    upstream: bool = False,
    downstream: bool = False,
    only_failed: bool = False,
    only_running: bool = False,
    map_index: int | None = None,
    instances: Mapping[str, Collection[int]] | None = None,
) -> ManualResult:
    """Clear task instances (None: every task of the run) so that they run again; the
    options are :func:`plan_clear`'s."""
    run = locked_run(conn, dag_id, run_id)
    plan = plan_clear(
        conn,
        run,
        task_ids,
        upstream=upstream,
        downstream=downstream,
        only_failed=only_failed,
        only_running=only_running,
        map_index=map_index,
        instances=instances,
    )
    structure = runs.serialized_dag(conn, run.version_hash)
    changed: list[str] = []
    for ti in plan.targets:
        task = structure.tasks.get(ti.task_id)
        retries = task.retries if task is not None else 0
        if transitions.set_by_hand(conn, ti.id, TaskState.NONE, actor, retries=retries):
            changed.append(ti.task_id)
    changed = list(dict.fromkeys(changed))
    in_flight = [t for t in dict.fromkeys(ti.task_id for ti in plan.in_flight) if t in changed]
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
    map_index: int | None = None,
) -> ManualResult:
    """Mark a task instance success or failed, as if its try had ended so; ``map_index``:
    one instance of a mapped task (None: the task, all of its instances)."""
    if to not in MARK_TARGETS:
        raise ValueError(f"a task can be marked success or failed, not {to}")
    run = locked_run(conn, dag_id, run_id)
    by_task = _instances_by_task(conn, run)
    instances = by_task.get(task_id)
    if not instances:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    if map_index is not None:
        _check_instance(run, [task_id], by_task, map_index)
        instances = [ti for ti in instances if ti.map_index == map_index]
    stopped = [task_id] if any(ti.state in IN_FLIGHT for ti in instances) else []
    moved = [
        ti
        for ti in instances  # a mapped task: all of its instances
        if ti.state is not to and transitions.set_by_hand(conn, ti.id, to, actor, retries=0)
    ]
    if not moved:
        return ManualResult([], [], run.state)
    _tell(conn, [ti.id for ti in moved], to)
    resumed = _resume_below(conn, run, [task_id], actor) if to is TaskState.SUCCESS else []
    _ask_for_plans(conn, run)
    state = _rerun(conn, run, _marked_note([task_id], to, resumed, actor))
    return ManualResult([task_id, *resumed], stopped, state)


def mark_tasks(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_ids: Sequence[str],
    to: TaskState,
    actor: Actor,
    *,
    upstream: bool = False,
    downstream: bool = False,
    instances: Mapping[str, Collection[int]] | None = None,
) -> ManualResult:
    """Mark task instances success or failed, with, if asked, the tasks upstream and/or
    downstream of them (whole), as Airflow's mark does. ``instances``: of the chosen tasks it
    names, only those map indexes."""
    if to not in MARK_TARGETS:
        raise ValueError(f"a task can be marked success or failed, not {to}")
    run = locked_run(conn, dag_id, run_id)
    tis = _instances_by_task(conn, run)
    missing = [tid for tid in task_ids if tid not in tis]
    if missing:
        raise NotFoundError(
            f"run {run_id!r} of DAG {dag_id!r} has no task {', '.join(map(repr, missing))}"
        )
    only = _only_instances(run, task_ids, tis, None, instances)
    structure = runs.serialized_dag(conn, run.version_hash)
    changed: list[str] = []
    stopped: list[str] = []
    marked: list[int] = []
    for tid in related_tasks(structure, task_ids, upstream=upstream, downstream=downstream):
        for ti in tis.get(tid, []):
            if tid in only and ti.map_index not in only[tid]:
                continue
            if ti.state is not to and transitions.set_by_hand(conn, ti.id, to, actor, retries=0):
                changed.append(tid)
                marked.append(ti.id)
                if ti.state in IN_FLIGHT:
                    stopped.append(tid)
    _tell(conn, marked, to)
    changed = list(dict.fromkeys(changed))
    if not changed:
        return ManualResult([], [], run.state)
    resumed = _resume_below(conn, run, changed, actor) if to is TaskState.SUCCESS else []
    _ask_for_plans(conn, run)
    state = _rerun(conn, run, _marked_note(changed, to, resumed, actor))
    return ManualResult(
        list(dict.fromkeys([*changed, *resumed])), list(dict.fromkeys(stopped)), state
    )


def _resume_below(conn: Connection, run: RunRow, marked: Sequence[str], actor: Actor) -> list[str]:
    """After ``marked`` were marked success: clear the failed and upstream_failed task
    instances downstream of them (not the marked tasks themselves), so the run carries on
    from there, as Airflow's ``set_task_instance_state`` does. The task ids cleared."""
    structure = runs.serialized_dag(conn, run.version_hash)
    below = [t for t in related_tasks(structure, marked, downstream=True) if t not in marked]
    if not below:
        return []
    tis = _instances_by_task(conn, run)
    cleared: list[str] = []
    for tid in below:
        task = structure.tasks.get(tid)
        retries = task.retries if task is not None else 0
        for ti in tis.get(tid, []):
            if ti.state in FAILED_LIKE and transitions.set_by_hand(
                conn, ti.id, TaskState.NONE, actor, retries=retries
            ):
                cleared.append(tid)
    return list(dict.fromkeys(cleared))


def _marked_note(marked: Sequence[str], to: TaskState, resumed: Sequence[str], actor: Actor) -> str:
    """Why the run went back to the scheduler, for its timeline."""
    note = f"{', '.join(marked)} marked {to.value} by {actor.name}"
    return f"{note}; {', '.join(resumed)} to run again" if resumed else note


def mark_run(
    conn: Connection, dag_id: str, run_id: str, to: TaskState, actor: Actor
) -> ManualResult:
    """Mark a whole run success or failed, as Airflow does: ``success`` marks every task
    instance success; ``failed`` marks those not finished yet failed and keeps what already
    ended. Queued and running tries end so too, their processes stopped.

    The run moves to the state asked for at once ("failed -> success"), not back to the
    scheduler: its start and end are kept (a run that had not ended ends now), so its
    history still says when it ran.
    """
    if to not in MARK_TARGETS:
        raise ValueError(f"a run can be marked success or failed, not {to}")
    run = locked_run(conn, dag_id, run_id)
    changed: list[str] = []
    in_flight: list[str] = []
    ended: list[int] = []  # the tries it ended: Airflow tells the listeners of these only
    for task_id, instances in _instances_by_task(conn, run).items():
        for ti in instances:
            wanted = ti.state is not to and (to is TaskState.SUCCESS or ti.state not in FINISHED)
            if wanted and transitions.set_by_hand(conn, ti.id, to, actor, retries=0):
                changed.append(task_id)
                if ti.state in IN_FLIGHT:
                    in_flight.append(task_id)
                    ended.append(ti.id)
    _tell(conn, ended, to)
    changed = list(dict.fromkeys(changed))
    in_flight = list(dict.fromkeys(in_flight))
    if changed:
        plan_requests.request_plan_of_next_run(conn, run)  # its depends_on_past tasks look here
    return ManualResult(changed, in_flight, _end_run(conn, run, RunState(to.value)))


def _end_run(conn: Connection, run: RunRow, to: RunState) -> RunState:
    """Move the run to ``to`` by hand, keeping its start and end (set now if missing)."""
    if run.state is to:
        return to
    now = utcnow()
    values = {
        "end_date": func.coalesce(dag_run.c.end_date, now),
        "start_date": func.coalesce(dag_run.c.start_date, now),
    }
    moved = transitions.move_run(conn, run.id, expected=[run.state], to=to, values=values)
    return to if moved else runs.get_run(conn, run.id).state


def _ask_for_plans(conn: Connection, run: RunRow) -> None:
    """A running run is not sent back: the scheduler plans it whole in its next loop, and
    the run after it, whose ``depends_on_past`` tasks look at this one's."""
    plan_requests.request_plan(conn, run.id)
    plan_requests.request_plan_of_next_run(conn, run)


def _only_instances(
    run: RunRow,
    task_ids: Sequence[str],
    tis: dict[str, list[TiRow]],
    map_index: int | None,
    instances: Mapping[str, Collection[int]] | None,
) -> dict[str, frozenset[int]]:
    """Of the chosen tasks, those limited to some of their instances, and to which;
    NotFoundError names an instance the run does not have."""
    only = {tid: frozenset([map_index]) for tid in task_ids} if map_index is not None else {}
    for tid, indexes in (instances or {}).items():
        only[tid] = only.get(tid, frozenset(indexes)) & frozenset(indexes)
    for tid, indexes in only.items():
        for index in sorted(indexes):
            _check_instance(run, [tid], tis, index)
    return only


def _check_instance(
    run: RunRow, task_ids: Sequence[str], tis: dict[str, list[TiRow]], map_index: int
) -> None:
    """NotFoundError unless each of ``task_ids`` has an instance ``map_index``."""
    for tid in task_ids:
        if not any(ti.map_index == map_index for ti in tis.get(tid, [])):
            raise NotFoundError(
                f"task {tid!r} of run {run.run_id!r} of DAG {run.dag_id!r} has no instance "
                f"with map_index {map_index}"
            )


def _instances_by_task(conn: Connection, run: RunRow) -> dict[str, list[TiRow]]:
    """Each task's instances: one, or one per map index for a mapped task."""
    found: dict[str, list[TiRow]] = {}
    for ti in runs.task_instances(conn, run.id):
        found.setdefault(ti.task_id, []).append(ti)
    return found
