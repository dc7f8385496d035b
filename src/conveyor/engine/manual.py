"""What a person does to a run by hand: clear task instances or mark them success/failed.

The web UI, both REST APIs, the CLI and a backfill's cancel call these functions, so a clear
or a mark follows the same rules whichever surface a person uses. Each action is one ordered
list of rules (``engine.policy``), followed in the caller's transaction: :data:`CLEAR`,
:data:`MARK`, :data:`MARK_RUN` and :data:`CANCEL_QUEUED_RUN`. The reads and statements they
use are ``store/manual.py``'s; every instance moves with ``transitions.set_by_hand`` (so the
timeline says who and why).

Each action locks the run first (the order every writer of a run keeps), moves each task
instance, and sends a finished run back to ``queued`` so the scheduler takes it up again: a
cleared task runs again, and a marked one lets the scheduler work out the run's new state.
Marking a task success also clears the failed and upstream_failed tasks below it, so that
the run carries on from there (Airflow's ``set_task_instance_state``).

Marking a whole run is the exception: the run itself moves to the state asked for at once
("failed -> success"), its start and end kept, since nothing is left for the scheduler to do.

A queued or running try is ended too, as in Airflow: the store moves it at once (the try's
own late report then finds it ended), and a running one's process is stopped by its executor
(``store/stops.py``: SIGTERM to its process group, the operator's ``on_kill``, SIGKILL after
``kill_grace_seconds``). A cleared running try goes up for retry, its next try due once the
process is stopped, so no second try runs beside it.

Once a mark commits, :func:`on_marks`'s hook is told which task instances it marked (a
whole run's mark: those whose try it ended), and a whole run's mark tells
:func:`on_run_marks`'s hook of the run's new state after them, as Airflow's API calls the
task instance and DAG run listeners then (``engine/run_listeners.py``). A run moved by hand
is told by these rules only, not as the engine's run moves are.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from conveyor.clock import utcnow
from conveyor.engine.policy import Point, Rule, always, follow, register
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import MARK_TARGETS, Actor
from conveyor.serialized import SerializedDag
from conveyor.states import FAILED_LIKE, FINISHED, IN_FLIGHT, RUN_FINISHED, RunState, TaskState
from conveyor.store import deadlines, manual, plan_requests, runs, ti_deletion, transitions
from conveyor.store.engine import Connection, after_commit
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow, TiRow

#: Told of each mark a person's action committed (never of one rolled back, as an API dry
#: run): a reader of the task instances it moved, each with its run, and the state.
MarkedRows = list[tuple[RunRow, task_reads.InstanceRow]]
Marked = Callable[[Callable[[], MarkedRows], TaskState], None]
_marked: Marked | None = None


def on_marks(hook: Marked | None) -> None:
    """Tell ``hook`` of the marks this process commits (None: tell no one)."""
    global _marked
    _marked = hook


#: Told of each whole run's mark a person's action committed: a reader of the run, and the
#: state it was marked.
RunMarked = Callable[[Callable[[], RunRow], RunState], None]
_run_marked: RunMarked | None = None


def on_run_marks(hook: RunMarked | None) -> None:
    """Tell ``hook`` of the whole runs' marks this process commits (None: tell no one)."""
    global _run_marked
    _run_marked = hook


@dataclass(frozen=True)
class ManualResult:
    changed: list[str]  # task ids whose state this action changed
    stopped: list[str]  # of those, the task ids whose queued or running try it ended
    run_state: RunState


@dataclass(frozen=True)
class ClearPlan:
    """What a clear would do: the task instances it would reset, and of those the ones
    queued or running now, whose try it ends (their process is stopped)."""

    targets: list[TiRow]
    in_flight: list[TiRow]


class ClearOptions(TypedDict, total=False):
    """How far a clear reaches, as :func:`clear_tasks` takes it."""

    upstream: bool
    downstream: bool
    only_failed: bool
    only_running: bool
    map_index: int | None
    instances: Mapping[str, Collection[int]] | None


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
    tis = manual.instances_by_task(conn, run)
    chosen = list(tis) if task_ids is None else list(task_ids)
    _check_tasks(run, chosen, tis)
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


# -- the entry points ---------------------------------------------------------------------


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
    **options: Unpack[ClearOptions],
) -> ManualResult:
    """Clear task instances (None: every task of the run) so that they run again; the
    options are :func:`plan_clear`'s. :data:`CLEAR`, in order."""
    done = follow(CLEAR, _ByHand(conn, dag_id, run_id, actor, TaskState.NONE, task_ids, options))
    changed = done.changed()
    in_flight = [t for t in dict.fromkeys(ti.task_id for ti in done.in_flight) if t in changed]
    return ManualResult(changed, in_flight, done.state())


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
    return _mark(conn, dag_id, run_id, [task_id], to, actor, {"map_index": map_index})


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
    reach: ClearOptions = {"upstream": upstream, "downstream": downstream, "instances": instances}
    return _mark(conn, dag_id, run_id, task_ids, to, actor, reach)


def _mark(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_ids: Sequence[str],
    to: TaskState,
    actor: Actor,
    reach: ClearOptions,
) -> ManualResult:
    """:data:`MARK`, in order."""
    if to not in MARK_TARGETS:
        raise ValueError(f"a task can be marked success or failed, not {to}")
    done = follow(MARK, _ByHand(conn, dag_id, run_id, actor, to, task_ids, reach))
    changed = done.changed()
    if not changed:
        return ManualResult([], [], done.state())
    return ManualResult(
        list(dict.fromkeys([*changed, *done.resumed])), done.stopped(), done.state()
    )


def mark_run(
    conn: Connection, dag_id: str, run_id: str, to: TaskState, actor: Actor
) -> ManualResult:
    """Mark a whole run success or failed, as Airflow does: ``success`` marks every task
    instance success; ``failed`` marks those not finished yet failed and keeps what already
    ended. Queued and running tries end so too, their processes stopped. :data:`MARK_RUN`,
    in order.

    The run moves to the state asked for at once ("failed -> success"), not back to the
    scheduler: its start and end are kept (a run that had not ended ends now), so its
    history still says when it ran.
    """
    if to not in MARK_TARGETS:
        raise ValueError(f"a run can be marked success or failed, not {to}")
    done = follow(MARK_RUN, _ByHand(conn, dag_id, run_id, actor, to, None, {}))
    return ManualResult(done.changed(), done.stopped(), done.state())


def cancel_queued_run(
    conn: Connection, dag_id: str, run_id: str, actor: Actor, note: str
) -> RunState:
    """Fail a run that has not started (a cancelled backfill's): its task instances are
    marked failed as :func:`mark_run` marks them, and the run, which may have none to mark,
    fails itself with ``note``. :data:`CANCEL_QUEUED_RUN`, in order; the run's state."""
    done = _ByHand(conn, dag_id, run_id, actor, TaskState.FAILED, None, {}, note=note)
    return follow(CANCEL_QUEUED_RUN, done).state()


def mark_alone(conn: Connection, ti_ids: Sequence[int], to: TaskState, actor: Actor) -> None:
    """Mark these task instances ``to`` and nothing else: no lock, no plan, no listener.
    Only for a throwaway run nobody else sees or runs (``conveyor tasks test``, which runs
    one task of it alone)."""
    for ti_id in ti_ids:
        transitions.set_by_hand(conn, ti_id, to, actor, retries=0)


# -- what the rules read ------------------------------------------------------------------


@dataclass
class _ByHand:
    """A person's action on one run being made: what the lists read and write."""

    conn: Connection
    dag_id: str
    run_id: str
    actor: Actor
    to: TaskState  # none: a clear
    task_ids: Sequence[str] | None  # None: every task of the run
    reach: ClearOptions
    note: str = ""  # the run's note, where the action gives one
    run: RunRow | None = None
    targets: list[TiRow] = field(default_factory=list)
    in_flight: list[TiRow] = field(default_factory=list)  # a clear's, of its targets
    moved: list[TiRow] = field(default_factory=list)  # as they were before the move
    resumed: list[str] = field(default_factory=list)  # cleared below a success mark
    run_state: RunState | None = None  # where this action left the run, once known
    ended_run: bool = False  # this action moved the run itself to the state asked for
    sent_back: bool = False  # a finished run this action sent back to the scheduler

    def locked(self) -> RunRow:
        assert self.run is not None
        return self.run

    def clears(self) -> bool:
        return self.to is TaskState.NONE

    def changed(self) -> list[str]:
        return list(dict.fromkeys(ti.task_id for ti in self.moved))

    def stopped(self) -> list[str]:
        return list(dict.fromkeys(ti.task_id for ti in self.moved if ti.state in IN_FLIGHT))

    def state(self) -> RunState:
        return self.run_state if self.run_state is not None else self.locked().state


def _lock_run(h: _ByHand) -> None:
    h.run = manual.locked_run(h.conn, h.dag_id, h.run_id)


def _plan_clear(h: _ByHand) -> None:
    plan = plan_clear(h.conn, h.locked(), h.task_ids, **h.reach)
    h.targets, h.in_flight = plan.targets, plan.in_flight


def _choose_marked(h: _ByHand) -> None:
    """The chosen tasks (with their up- or downstream), of a limited one only its chosen
    instances, that are not in the state asked for already."""
    run, task_ids = h.locked(), list(h.task_ids or [])
    tis = manual.instances_by_task(h.conn, run)
    _check_tasks(run, task_ids, tis)
    only = _only_instances(run, task_ids, tis, h.reach.get("map_index"), h.reach.get("instances"))
    structure = runs.serialized_dag(h.conn, run.version_hash)
    upstream, downstream = h.reach.get("upstream", False), h.reach.get("downstream", False)
    for tid in related_tasks(structure, task_ids, upstream=upstream, downstream=downstream):
        for ti in tis.get(tid, []):  # a mapped task: each of its instances
            if (tid not in only or ti.map_index in only[tid]) and ti.state is not h.to:
                h.targets.append(ti)


def _choose_whole_run(h: _ByHand) -> None:
    """Success: every instance; failed: those not finished yet (what ended is kept). In the
    DAG's order, as a mark of chosen tasks lists them (the store returns rows in any order)."""
    run = h.locked()
    tis = manual.instances_by_task(h.conn, run)
    structure = runs.serialized_dag(h.conn, run.version_hash)
    for tid in related_tasks(structure, list(tis)):
        for ti in tis[tid]:
            if ti.state is not h.to and (h.to is TaskState.SUCCESS or ti.state not in FINISHED):
                h.targets.append(ti)


def _move_each(h: _ByHand) -> None:
    """Each target by hand, in order; a cleared one gets its task's retries anew."""
    structure = runs.serialized_dag(h.conn, h.locked().version_hash) if h.clears() else None
    for ti in h.targets:
        task = structure.tasks.get(ti.task_id) if structure is not None else None
        retries = task.retries if task is not None else 0
        if transitions.set_by_hand(h.conn, ti.id, h.to, h.actor, retries=retries):
            h.moved.append(ti)


def _moved(h: _ByHand) -> bool:
    return bool(h.moved)


def _tell_marked(h: _ByHand) -> None:
    """A task's mark: the listeners hear of every instance it marked."""
    _tell(h.conn, [ti.id for ti in h.moved], h.to)


def _tell_ended(h: _ByHand) -> None:
    """A whole run's mark: they hear of the instances whose try it ended, as Airflow's."""
    _tell(h.conn, [ti.id for ti in h.moved if ti.state in IN_FLIGHT], h.to)


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


def _marked_success(h: _ByHand) -> bool:
    return bool(h.moved) and h.to is TaskState.SUCCESS


def _resume_below(h: _ByHand) -> None:
    """After tasks were marked success: clear the failed and upstream_failed task instances
    downstream of them (not the marked tasks themselves), so the run carries on from there,
    as Airflow's ``set_task_instance_state`` does."""
    run, marked = h.locked(), h.changed()
    structure = runs.serialized_dag(h.conn, run.version_hash)
    below = [t for t in related_tasks(structure, marked, downstream=True) if t not in marked]
    if not below:
        return
    tis = manual.instances_by_task(h.conn, run)
    cleared: list[str] = []
    for tid in below:
        task = structure.tasks.get(tid)
        retries = task.retries if task is not None else 0
        for ti in tis.get(tid, []):
            if ti.state in FAILED_LIKE and transitions.set_by_hand(
                h.conn, ti.id, TaskState.NONE, h.actor, retries=retries
            ):
                cleared.append(tid)
    h.resumed = list(dict.fromkeys(cleared))


def _ask_for_plans(h: _ByHand) -> None:
    """A running run is not sent back: the scheduler plans it whole in its next loop, and
    the run after it, whose ``depends_on_past`` tasks look at this one's."""
    plan_requests.request_plan(h.conn, h.locked().id)
    plan_requests.request_plan_of_next_run(h.conn, h.locked())


def _ask_for_next_plan(h: _ByHand) -> None:
    """The next run's ``depends_on_past`` tasks look at this one's."""
    plan_requests.request_plan_of_next_run(h.conn, h.locked())


def _moved_and_finished(h: _ByHand) -> bool:
    return bool(h.moved) and h.locked().state in RUN_FINISHED


def _moved_and_succeeded(h: _ByHand) -> bool:
    return bool(h.moved) and h.locked().state is RunState.SUCCESS


def _settle_met_deadlines(h: _ByHand) -> None:
    """Its deadlines met by that success stay met."""
    deadlines.settle_met(h.conn, h.locked().id)


def _send_back(h: _ByHand) -> None:
    """A finished run whose tasks a person changed goes back to queued for the scheduler."""
    run = h.locked()
    moved = transitions.move_run(
        h.conn,
        run.id,
        expected=[run.state],
        to=RunState.QUEUED,
        values={"end_date": None, "note": _why(h)},
    )
    h.sent_back = moved
    h.run_state = RunState.QUEUED if moved else runs.get_run(h.conn, run.id).state


def _sent_back(h: _ByHand) -> bool:
    return h.sent_back


def _restore_deleted(h: _ByHand) -> None:
    """Or the run would wait for the instances deleted by hand."""
    ti_deletion.restore_deleted_instances(h.conn, h.locked())


def _why(h: _ByHand) -> str:
    """Why the run went back to the scheduler, for its timeline."""
    changed = ", ".join(h.changed())
    if h.clears():
        return f"cleared {changed} by {h.actor.name}"
    note = f"{changed} marked {h.to.value} by {h.actor.name}"
    return f"{note}; {', '.join(h.resumed)} to run again" if h.resumed else note


def _end_run(h: _ByHand) -> None:
    """Move the run to the state asked for by hand, keeping its start and end (set now if
    missing)."""
    run, to = h.locked(), RunState(h.to.value)
    if run.state is to:
        h.run_state = to
        return
    values = manual.kept_dates(utcnow())
    moved = transitions.move_run(h.conn, run.id, expected=[run.state], to=to, values=values)
    h.run_state = to if moved else runs.get_run(h.conn, run.id).state
    h.ended_run = moved


def _ended_run(h: _ByHand) -> bool:
    return h.ended_run


def _tell_run_marked(h: _ByHand) -> None:
    """The listeners hear of the run's new state, after its instances' (as Airflow's API)."""
    hook, run_pk, to = _run_marked, h.locked().id, RunState(h.to.value)
    if hook is None:
        return
    engine = h.conn.engine

    def read() -> RunRow:
        with engine.connect() as fresh:
            return runs.get_run(fresh, run_pk)

    after_commit(h.conn, lambda: hook(read, to))


def _still_queued(h: _ByHand) -> bool:
    return h.state() is RunState.QUEUED


def _fail_queued(h: _ByHand) -> None:
    """A run the mark left queued fails itself, with the action's note."""
    run = h.locked()
    values = {"end_date": utcnow(), "note": h.note}
    if transitions.move_run(
        h.conn, run.id, expected=[RunState.QUEUED], to=RunState.FAILED, values=values
    ):
        h.run_state = RunState.FAILED


#: A finished run whose instances an action moved goes back to the scheduler, in order.
_BACK_TO_THE_SCHEDULER: tuple[Rule[_ByHand], ...] = (
    Rule("settle the deadlines its success met", _moved_and_succeeded, _settle_met_deadlines),
    Rule("send a finished run back to queued", _moved_and_finished, _send_back),
    Rule("give it back its deleted instances", _sent_back, _restore_deleted),
)

#: A person's clear of task instances (:func:`clear_tasks`), in order.
CLEAR: tuple[Rule[_ByHand], ...] = register(
    Point("manual.clear_tasks", ("a person's action",)),
    (
        Rule("lock the run", always, _lock_run),
        Rule("choose the instances", always, _plan_clear),
        Rule("clear each, ending a queued or running try", always, _move_each),
        Rule("ask for the run's plan and the next run's", _moved, _ask_for_plans),
        *_BACK_TO_THE_SCHEDULER,
    ),
)

#: A person's mark of task instances success or failed (:func:`mark`, :func:`mark_tasks`),
#: in order.
MARK: tuple[Rule[_ByHand], ...] = register(
    Point("manual.mark", ("a person's action",)),
    (
        Rule("lock the run", always, _lock_run),
        Rule("choose the instances", always, _choose_marked),
        Rule("mark each, ending a queued or running try", always, _move_each),
        Rule("tell the listeners of each instance marked", _moved, _tell_marked),
        Rule("clear the failed below a success", _marked_success, _resume_below),
        Rule("ask for the run's plan and the next run's", _moved, _ask_for_plans),
        *_BACK_TO_THE_SCHEDULER,
    ),
)

#: A whole run's instances marked and the run ended as asked, as both lists below begin.
_END_THE_RUN: tuple[Rule[_ByHand], ...] = (
    Rule("lock the run", always, _lock_run),
    Rule("choose the instances", always, _choose_whole_run),
    Rule("mark each, ending a queued or running try", always, _move_each),
    Rule("tell the listeners of each try ended", _moved, _tell_ended),
    Rule("ask for the next run's plan", _moved, _ask_for_next_plan),
    Rule("end the run as asked, its dates kept", always, _end_run),
)

#: A person's mark of a whole run (:func:`mark_run`), in order: the run ends at once.
MARK_RUN: tuple[Rule[_ByHand], ...] = register(
    Point("manual.mark_run", ("a person's action",)),
    (
        *_END_THE_RUN,
        Rule("tell the listeners of the run's new state", _ended_run, _tell_run_marked),
    ),
)

#: A run a cancelled backfill fails before it started (:func:`cancel_queued_run`), in order:
#: no listener hears of it, as none hears of Airflow's cancel.
CANCEL_QUEUED_RUN: tuple[Rule[_ByHand], ...] = register(
    Point("manual.cancel_queued_run", ("a person's action",)),
    (
        *_END_THE_RUN,
        Rule("fail the run if it is still queued", _still_queued, _fail_queued),
    ),
)


def _check_tasks(run: RunRow, task_ids: Sequence[str], tis: dict[str, list[TiRow]]) -> None:
    """NotFoundError naming each of ``task_ids`` the run has no instance of."""
    missing = [tid for tid in task_ids if tid not in tis]
    if missing:
        raise NotFoundError(
            f"run {run.run_id!r} of DAG {run.dag_id!r} has no task {', '.join(map(repr, missing))}"
        )


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
            if not any(ti.map_index == index for ti in tis.get(tid, [])):
                raise NotFoundError(
                    f"task {tid!r} of run {run.run_id!r} of DAG {run.dag_id!r} has no "
                    f"instance with map_index {index}"
                )
    return only
