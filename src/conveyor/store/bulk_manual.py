"""Clear or mark many task instances or runs at once, and say exactly what changed.

Each run is changed through :mod:`conveyor.store.manual`, the use cases the single actions
call, so the rules are the same (a queued or running try is ended and its process stopped,
a finished run goes back to the scheduler). Runs are taken in the order of their keys, the
order in which any writer that locks several runs must take them.

What changed is read, not predicted: every instance's state before and after the call, in
the same transaction. A preview (the API's ``dry_run``) makes the very same calls and then
rolls the transaction back, so what it shows is what confirming it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from conveyor.states import IN_FLIGHT, TaskState
from conveyor.store import manual, runs
from conveyor.store.runs import RunRow
from conveyor.store.tables import dag_run, task_instance
from conveyor.store.transitions import Actor

#: The most runs one action may touch (a clear with past or future reaches many).
MAX_RUNS = 1000


class TooManyRuns(ValueError):
    """The action would touch more than :data:`MAX_RUNS` runs."""


@dataclass(frozen=True)
class RunRef:
    dag_id: str
    run_id: str


@dataclass(frozen=True)
class TaskRef(RunRef):
    """A task of a run: its instances (every one, for a mapped task)."""

    task_id: str


@dataclass(frozen=True)
class Change:
    """A task instance whose state the action changed (or, left alone, its state)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    before: str
    after: str


@dataclass(frozen=True)
class RunChange:
    dag_id: str
    run_id: str
    before: str
    after: str


@dataclass
class Outcome:
    changed: list[Change] = field(default_factory=list)
    stopped: list[Change] = field(default_factory=list)  # of changed: was queued or running
    runs: list[RunChange] = field(default_factory=list)  # every run the action looked at


def _states(conn: Connection, run_pk: int) -> dict[tuple[str, int], str]:
    rows = conn.execute(
        select(task_instance.c.task_id, task_instance.c.map_index, task_instance.c.state).where(
            task_instance.c.run_pk == run_pk
        )
    )
    return {(r.task_id, r.map_index): r.state for r in rows}


def _apply(
    conn: Connection, targets: list[RunRow], action: Callable[[RunRow], manual.ManualResult]
) -> Outcome:
    """``action`` on each run in key order, with each instance's state before and after."""
    if len(targets) > MAX_RUNS:
        raise TooManyRuns(
            f"this would change {len(targets)} runs, more than {MAX_RUNS} at once: "
            "choose fewer task instances or runs"
        )
    outcome = Outcome()
    for run in sorted(targets, key=lambda r: r.id):
        before = _states(conn, run.id)
        result = action(run)
        after = _states(conn, run.id)
        for (task_id, index), state in after.items():
            was = before.get((task_id, index), TaskState.NONE.value)
            if was != state:
                change = Change(run.dag_id, run.run_id, task_id, index, was, state)
                outcome.changed.append(change)
                if TaskState(was) in IN_FLIGHT:
                    outcome.stopped.append(change)
        outcome.runs.append(
            RunChange(run.dag_id, run.run_id, run.state.value, result.run_state.value)
        )
    return outcome


def _find_runs(conn: Connection, refs: Sequence[RunRef]) -> list[RunRow]:
    found: dict[int, RunRow] = {}
    for ref in refs:
        run = runs.find_run(conn, ref.dag_id, ref.run_id)  # NotFoundError names it
        found[run.id] = run
    return list(found.values())


def _runs_around(conn: Connection, run: RunRow, past: bool, future: bool) -> list[RunRow]:
    """The DAG's runs with a logical date before (``past``) or after (``future``) the run's."""
    bounds = []
    if past and not future:
        bounds.append(dag_run.c.logical_date < run.logical_date)
    elif future and not past:
        bounds.append(dag_run.c.logical_date > run.logical_date)
    pks = conn.execute(
        select(dag_run.c.id).where(dag_run.c.dag_id == run.dag_id, *bounds).limit(MAX_RUNS + 1)
    ).scalars()
    return [runs.get_run(conn, pk) for pk in pks if pk != run.id]


def _has_tasks(conn: Connection, run_pk: int, task_ids: set[str]) -> list[str]:
    rows = conn.execute(
        select(task_instance.c.task_id)
        .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id.in_(task_ids))
        .distinct()
    ).scalars()
    return sorted(rows)


def _clear_targets(
    conn: Connection, refs: Sequence[TaskRef], past: bool, future: bool
) -> tuple[dict[int, RunRow], dict[int, list[str]]]:
    """Each run to clear and its tasks: the chosen ones, and with ``past`` or ``future`` the
    same tasks in the DAG's earlier or later runs (those of them that run has)."""
    targets: dict[int, RunRow] = {}
    tasks: dict[int, list[str]] = {}
    for ref in refs:
        run = runs.find_run(conn, ref.dag_id, ref.run_id)
        targets[run.id] = run
        tasks.setdefault(run.id, [])
        if ref.task_id not in tasks[run.id]:
            tasks[run.id].append(ref.task_id)
    if past or future:
        for origin in list(targets.values()):
            wanted = set(tasks[origin.id])
            for other in _runs_around(conn, origin, past, future):
                present = _has_tasks(conn, other.id, wanted)
                if present:
                    targets.setdefault(other.id, other)
                    known = tasks.setdefault(other.id, [])
                    known.extend(t for t in present if t not in known)
                if len(targets) > MAX_RUNS:
                    break
    return targets, tasks


def clear_task_instances(
    conn: Connection,
    refs: Sequence[TaskRef],
    actor: Actor,
    *,
    upstream: bool = False,
    downstream: bool = False,
    past: bool = False,
    future: bool = False,
    only_failed: bool = False,
) -> Outcome:
    """Clear these task instances (with their upstream, downstream, and the same tasks in
    earlier or later runs, if asked) so that they run again."""
    targets, tasks = _clear_targets(conn, refs, past, future)
    return _apply(
        conn,
        list(targets.values()),
        lambda run: manual.clear_tasks(
            conn,
            run.dag_id,
            run.run_id,
            tasks[run.id],
            actor,
            upstream=upstream,
            downstream=downstream,
            only_failed=only_failed,
        ),
    )


def mark_task_instances(
    conn: Connection, refs: Sequence[TaskRef], to: TaskState, actor: Actor
) -> Outcome:
    """Mark these task instances success or failed (every instance of a mapped task)."""
    targets: dict[int, RunRow] = {}
    tasks: dict[int, list[str]] = {}
    for ref in refs:
        run = runs.find_run(conn, ref.dag_id, ref.run_id)
        targets[run.id] = run
        tasks.setdefault(run.id, []).append(ref.task_id)

    def mark(run: RunRow) -> manual.ManualResult:
        changed: list[str] = []
        stopped: list[str] = []
        state = run.state
        for task_id in dict.fromkeys(tasks[run.id]):
            result = manual.mark(conn, run.dag_id, run.run_id, task_id, to, actor)
            changed += result.changed
            stopped += result.stopped
            state = result.run_state
        return manual.ManualResult(changed, stopped, state)

    return _apply(conn, list(targets.values()), mark)


def clear_runs(
    conn: Connection, refs: Sequence[RunRef], actor: Actor, *, only_failed: bool = False
) -> Outcome:
    """Clear every task instance of these runs (or only the failed ones)."""
    return _apply(
        conn,
        _find_runs(conn, refs),
        lambda run: manual.clear_tasks(
            conn, run.dag_id, run.run_id, None, actor, only_failed=only_failed
        ),
    )


def mark_runs(conn: Connection, refs: Sequence[RunRef], to: TaskState, actor: Actor) -> Outcome:
    """Mark these runs success (every task) or failed (every unfinished task)."""
    return _apply(
        conn,
        _find_runs(conn, refs),
        lambda run: manual.mark_run(conn, run.dag_id, run.run_id, to, actor),
    )
