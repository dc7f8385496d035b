"""Why is this task instance in the state it is in? The timeline, as data.

Shared by ``conveyor tasks why`` and (later) the web UI: every try with who scheduled and
queued it, where it ran and how it ended, and for one that has not run yet, what it waits
for, derived with the same planning code the scheduler uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine.mapping import task_states, ti_key
from conveyor.engine.planning import plan_run
from conveyor.exceptions import NotFoundError
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from conveyor.store import (
    backfills,
    hitl,
    liveness,
    pools,
    runs,
    scheduling,
    task_limits,
    timeline,
    triggers,
)
from conveyor.store.engine import Connection
from conveyor.store.runs import RunRow
from conveyor.store.timeline import CALLBACK_FAILED, InstanceRow


@dataclass
class TryStory:
    try_number: int
    state: str | None = None
    hostname: str | None = None
    pid: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration: float | None = None
    exit_kind: str | None = None
    error: str | None = None
    log_path: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    #: What its task callbacks raised ("on_failure_callback alert raised KeyError: 'x'").
    callback_errors: list[str] = field(default_factory=list)


#: The names Airflow gives the conditions a task instance waits on (its "dependencies"), for
#: each kind of reason below.
DAG_NOT_PAUSED = "Dag Not Paused"
DAGRUN_RUNNING = "Dagrun Running"
TRIGGER_RULE = "Trigger Rule"
PREVIOUS_DAGRUN_STATE = "Previous Dagrun State"
TASK_CONCURRENCY = "Task Concurrency"
POOL_SLOTS_AVAILABLE = "Pool Slots Available"
TI_SLOTS_AVAILABLE = "Task Instance Slots Available"
TASK_INSTANCE_STATE = "Task Instance State"
NOT_IN_RETRY_PERIOD = "Not In Retry Period"


@dataclass(frozen=True)
class Blocker:
    """One reason a task instance is not running yet, with the condition it names."""

    name: str
    reason: str


@dataclass
class Explanation:
    dag_id: str
    run_id: str
    task_id: str
    state: TaskState
    try_number: int
    max_tries: int
    run_state: RunState
    tries: list[TryStory]
    waiting_for: list[str]
    map_index: int = -1  # an instance of a mapped task: 0..n-1
    #: That instance's name from its ``map_index_template``, when the try rendered one.
    rendered_map_index: str | None = None
    #: ``waiting_for``, each reason with the condition it names.
    blockers: list[Blocker] = field(default_factory=list)


def explain(
    conn: Connection, run: RunRow, task_id: str, map_index: int | None = None
) -> Explanation:
    """``map_index``: which instance of a mapped task (default: the first)."""
    ti = timeline.find_instance(conn, run.id, task_id, map_index)
    if ti is None:
        _explain_absent(conn, run, task_id)
        instance = f" instance {map_index}" if map_index is not None else ""
        raise NotFoundError(f"run {run.run_id} of {run.dag_id!r} has no task {task_id!r}{instance}")
    stories: dict[int, TryStory] = {}
    for ev in timeline.events(conn, ti.id):
        story = stories.setdefault(ev.try_number, TryStory(ev.try_number))
        story.events.append(
            {"at": ev.at, "kind": ev.kind, "actor": ev.actor, "message": ev.message}
        )
        if ev.kind == CALLBACK_FAILED:
            story.callback_errors.append(ev.message or "")
    for t in timeline.tries(conn, ti.id):
        story = stories.setdefault(t.try_number, TryStory(t.try_number))
        story.state, story.hostname, story.pid = t.state, t.hostname, t.pid
        story.start_date, story.end_date, story.duration = t.start_date, t.end_date, t.duration
        story.exit_kind, story.error, story.log_path = t.exit_kind, t.error, t.log_path
    state = ti.state
    blockers = _blockers(conn, run, ti, state)
    return Explanation(
        dag_id=run.dag_id,
        run_id=run.run_id,
        task_id=task_id,
        state=state,
        try_number=ti.try_number,
        max_tries=ti.max_tries,
        run_state=run.state,
        tries=[stories[n] for n in sorted(stories)],
        waiting_for=[b.reason for b in blockers],
        map_index=ti.map_index,
        rendered_map_index=ti.rendered_map_index,
        blockers=blockers,
    )


def _blockers(conn: Connection, run: RunRow, ti: InstanceRow, state: TaskState) -> list[Blocker]:
    structure = runs.serialized_dag(conn, run.version_hash)
    found: list[Blocker] = []
    if state is TaskState.NONE:
        if timeline.dag_is_paused(conn, run.dag_id):
            found.append(
                Blocker(
                    DAG_NOT_PAUSED, f"the DAG {run.dag_id!r} is paused: unpause it to let it run"
                )
            )
        if run.state is RunState.QUEUED:
            found.append(Blocker(DAGRUN_RUNNING, _why_queued(conn, run, structure.max_active_runs)))
        else:
            # Mapped tasks count as a whole, and downstream sees each of their instances.
            tis = {ti_key(t): t for t in runs.task_instances(conn, run.id)}
            states, instances = task_states(tis)
            plan = plan_run(
                structure,
                states,
                past_states=runs.previous_run_states(conn, run),
                instances=instances,
            )
            # A mapped group's task is planned per instance ("task[2]"), any other whole.
            names = {ti.task_id, f"{ti.task_id}[{ti.map_index}]"}
            waits = [plan.waiting[name] for name in names if name in plan.waiting]
            if waits:
                reason = waits[0]
                # The planner words a depends_on_past hold this way (planning._past_allows).
                past = reason.startswith("depends_on_past")
                found.append(Blocker(PREVIOUS_DAGRUN_STATE if past else TRIGGER_RULE, reason))
            elif any(name in names for name, _ in plan.to_schedule):
                found.append(
                    Blocker(
                        TASK_INSTANCE_STATE,
                        "ready: the scheduler will schedule it on its next loop",
                    )
                )
    elif state is TaskState.SCHEDULED:
        waiting_for_pool = pool_reason(conn, ti.pool, ti.pool_slots)
        held_back = task_limit_reason(conn, run, structure, ti.task_id)
        if held_back:
            found.append(Blocker(TASK_CONCURRENCY, held_back))
        elif waiting_for_pool:
            found.append(Blocker(POOL_SLOTS_AVAILABLE, waiting_for_pool))
        else:
            found.append(
                Blocker(
                    TI_SLOTS_AVAILABLE,
                    "scheduled: waiting for a free executor slot (parallelism) or for "
                    f"max_active_tasks={structure.max_active_tasks} of this run",
                )
            )
    elif state is TaskState.QUEUED:
        found.append(
            Blocker(
                TASK_INSTANCE_STATE,
                f"queued on {ti.queue!r} since {ti.queued_at:%Y-%m-%d %H:%M:%S} UTC: "
                + _who_takes(conn, ti.queue),
            )
        )
    elif state is TaskState.UP_FOR_RETRY and ti.retry_at is not None:
        found.append(
            Blocker(
                NOT_IN_RETRY_PERIOD,
                f"up for retry: try {ti.try_number + 1} of {ti.max_tries} starts after "
                f"{ti.retry_at:%Y-%m-%d %H:%M:%S} UTC",
            )
        )
    elif state in _WAITS:
        found.append(Blocker(TASK_INSTANCE_STATE, _WAITS[state](conn, ti.id)))
    return found


def _awaiting_reason(conn: Connection, ti_id: int) -> str:
    """What a try awaiting input asks, and until when."""
    question = hitl.latest(conn, ti_id)
    if question is None:
        return "awaiting input: its question is gone; clear the task to ask again"
    text = f"awaiting a person's answer to {question.subject!r} (Required actions)"
    if question.timeout_at is not None:
        text += f"; the response timeout is {question.timeout_at:%Y-%m-%d %H:%M:%S} UTC"
    return text


def _deferred_reason(conn: Connection, ti_id: int) -> str:
    """What a deferred try waits for: its trigger, who runs it, and its deadline."""
    found = triggers.waiting_for(conn, ti_id)
    if found is None:
        return "deferred: its trigger is gone; clear the task to run it again"
    name = found.classpath.rsplit(".", 1)[-1]
    args = ", ".join(f"{k}={v!r}" for k, v in found.kwargs.items())
    if len(args) > 120:
        args = args[:117] + "..."
    text = f"waiting for trigger {name}({args}) (#{found.trigger_id})"
    alive = {
        row.id
        for row in liveness.live_triggerers(conn, utcnow(), timedelta(seconds=WORKER_ALIVE_SECONDS))
    }
    if found.triggerer_id in alive:
        text += f", run by triggerer {found.triggerer_id}"
    else:
        text += ": no live triggerer runs it yet (start one with `conveyor triggerer`)"
    if found.timeout_at is not None:
        text += f"; times out at {found.timeout_at:%Y-%m-%d %H:%M:%S} UTC"
    return text


#: A worker whose last heartbeat is older than this is not counted as listening.
WORKER_ALIVE_SECONDS = 60


def _who_takes(conn: Connection, queue: str) -> str:
    """Which workers could start a try queued on ``queue``, and what to do if none can."""
    alive = liveness.live_workers(conn, utcnow(), timedelta(seconds=WORKER_ALIVE_SECONDS))
    listening = [row.hostname for row in alive if queue in row.queues]
    if listening:
        return (
            f"waiting for a free slot on the worker{'s' if len(listening) > 1 else ''} "
            f"listening on it ({', '.join(sorted(listening))})"
        )
    if alive:
        served = sorted({q for row in alive for q in row.queues})
        return (
            f"no live worker listens on queue {queue!r} (they listen on {', '.join(served)}): "
            f"start one with `conveyor worker -q {queue}`"
        )
    return (
        "waiting for the executor to start it (with the Celery executor: no worker has sent "
        f"a heartbeat in the last minute; start one with `conveyor worker -q {queue}`)"
    )


def task_limit_reason(
    conn: Connection, run: RunRow, structure: SerializedDag, task_id: str
) -> str | None:
    """What keeps a scheduled try of ``task_id`` back under its task's own limits, if they
    do: "waiting: max_active_tis_per_dag=2, 2 running in runs X, Y"."""
    task = structure.tasks.get(task_id)
    if task is None or task_id not in structure.task_limited:
        return None
    per_dag, per_run = task.max_active_tis_per_dag, task.max_active_tis_per_dagrun
    active = task_limits.active_instances(conn, run.dag_id, task_id)
    if per_dag is not None and sum(active.values()) >= per_dag:
        held = sum(active.values())
        where = ", ".join(active)
        return (
            f"waiting: max_active_tis_per_dag={per_dag}, {held} running in "
            f"run{'s' if len(active) > 1 else ''} {where}"
        )
    in_run = active.get(run.run_id, 0)
    if per_run is not None and in_run >= per_run:
        return f"waiting: max_active_tis_per_dagrun={per_run}, {in_run} running in this run"
    return None


def _explain_absent(conn: Connection, run: RunRow, task_id: str) -> None:
    """A task of the DAG with no instance in this run because of its own dates: say so."""
    task = runs.serialized_dag(conn, run.version_hash).tasks.get(task_id)
    if task is None or task.runs_at(run.logical_date):
        return
    start, end = task.start_date, task.end_date
    if start is not None and run.logical_date < start:
        why = f"its start_date {start:%Y-%m-%d %H:%M:%S} UTC is after"
    else:
        assert end is not None
        why = f"its end_date {end:%Y-%m-%d %H:%M:%S} UTC is before"
    raise NotFoundError(
        f"run {run.run_id} of {run.dag_id!r} has no instance of task {task_id!r}: {why} the "
        f"run's logical date {run.logical_date:%Y-%m-%d %H:%M:%S} UTC (as on Airflow, the "
        "run has none, and tasks downstream of it wait for it)"
    )


def pool_reason(conn: Connection, name: str, slots: int) -> str | None:
    """What keeps a scheduled try of ``slots`` slots out of pool ``name``, if the pool does."""
    try:
        usage = pools.get_pool(conn, name)
    except NotFoundError:
        usage = None
    if usage is not None and usage.slots is None:
        return None  # a pool without a limit keeps nobody waiting
    if usage is None or usage.slots is None:
        return (
            f"waiting for pool {name!r}, which does not exist: create it with "
            f"`conveyor pools set {name} SLOTS`"
        )
    found = usage.slots
    if slots > found:
        return (
            f"needs {slots} slot{'' if slots == 1 else 's'} of pool {name!r}, which has "
            f"{found}: give the pool "
            f"more slots (`conveyor pools set {name} {slots}`) or the task fewer pool_slots"
        )
    used = usage.used
    if used + slots > found:
        return f"waiting for a slot in pool {name!r} ({used} of {found} used)"
    return None


def _why_queued(conn: Connection, run: RunRow, max_active_runs: int) -> str:
    """Why a queued run has not started: its backfill's pace or pause, or the DAG's."""
    owner = backfills.of_run(conn, run.id)
    if owner is None:
        active = scheduling.count_running_runs(conn, run.dag_id)
        return (
            f"the run is queued: {active} of max_active_runs={max_active_runs} "
            "runs of this DAG are running"
        )
    if owner.is_paused:
        return (
            f"the run is queued in backfill {owner.id}, which is paused: unpause it "
            f"(conveyor backfill unpause {owner.id}) to let its runs start"
        )
    running = backfills.run_counts(conn, [owner.id])[owner.id].get(RunState.RUNNING.value, 0)
    return (
        f"the run is queued in backfill {owner.id}: {running} of its "
        f"max_active_runs={owner.max_active_runs} runs are running"
    )


#: What a try that waits outside any slot waits for, by its state.
_WAITS: dict[TaskState, Callable[[Connection, int], str]] = {
    TaskState.DEFERRED: _deferred_reason,
    TaskState.AWAITING_INPUT: _awaiting_reason,
}
