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
from functools import partial

from sqlalchemy import Connection, select

from conveyor.lifecycle import Actor
from conveyor.states import IN_FLIGHT, TaskState
from conveyor.store import manual, runs
from conveyor.store.runs import RunRow
from conveyor.store.tables import dag_run, task_instance

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
    """A task of a run: one instance of a mapped task (``map_index``), or every instance
    of the task (None; an unmapped task's one instance is -1)."""

    task_id: str
    map_index: int | None = None


#: Of each task chosen in a run, the map indexes chosen (None: all of its instances).
Selection = dict[str, set[int] | None]


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
        _observe(conn, run, partial(action, run), outcome)
    return outcome


def _observe(
    conn: Connection, run: RunRow, call: Callable[[], manual.ManualResult], outcome: Outcome
) -> manual.ManualResult:
    """``call`` (an action on ``run``), adding to ``outcome`` every instance of the run
    whose state it changed, and the run's state before and after."""
    before = _states(conn, run.id)
    result = call()
    after = _states(conn, run.id)
    for (task_id, index), state in after.items():
        was = before.get((task_id, index), TaskState.NONE.value)
        if was != state:
            change = Change(run.dag_id, run.run_id, task_id, index, was, state)
            outcome.changed.append(change)
            if TaskState(was) in IN_FLIGHT:
                outcome.stopped.append(change)
    outcome.runs.append(RunChange(run.dag_id, run.run_id, run.state.value, result.run_state.value))
    return result


def observe(
    conn: Connection, ref: RunRef, call: Callable[[], manual.ManualResult]
) -> tuple[manual.ManualResult, Outcome]:
    """An action on one run (``manual.clear``, ``manual.mark``, ...), with what it changed read
    as the bulk actions read it: the single actions' answer, and their preview, say exactly
    the same as a bulk action of that one run would."""
    run = runs.find_run(conn, ref.dag_id, ref.run_id)  # NotFoundError names it
    outcome = Outcome()
    result = _observe(conn, run, call, outcome)
    return result, outcome


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


def _present(conn: Connection, run_pk: int, wanted: Selection) -> Selection:
    """Of ``wanted``, the tasks and instances this run has."""
    rows = conn.execute(
        select(task_instance.c.task_id, task_instance.c.map_index).where(
            task_instance.c.run_pk == run_pk, task_instance.c.task_id.in_(set(wanted))
        )
    )
    found: Selection = {}
    for task_id, index in rows:
        indexes = wanted[task_id]
        if indexes is None:
            found[task_id] = None
        elif index in indexes:
            have = found.setdefault(task_id, set())
            assert have is not None
            have.add(index)
    return found


def _choose(selection: Selection, ref: TaskRef) -> None:
    if ref.task_id in selection and selection[ref.task_id] is None:
        return
    if ref.map_index is None:
        selection[ref.task_id] = None
    else:
        chosen = selection.setdefault(ref.task_id, set())
        assert chosen is not None
        chosen.add(ref.map_index)


def _targets(
    conn: Connection, refs: Sequence[TaskRef], past: bool, future: bool
) -> tuple[dict[int, RunRow], dict[int, Selection]]:
    """Each run to act on and its chosen task instances: those of ``refs``, and with
    ``past`` or ``future`` the same ones in the DAG's earlier or later runs (those of them
    that run has), as Airflow's clear and mark reach them."""
    targets: dict[int, RunRow] = {}
    chosen: dict[int, Selection] = {}
    for ref in refs:
        run = runs.find_run(conn, ref.dag_id, ref.run_id)
        targets[run.id] = run
        _choose(chosen.setdefault(run.id, {}), ref)
    if past or future:
        for origin in list(targets.values()):
            wanted = chosen[origin.id]
            for other in _runs_around(conn, origin, past, future):
                present = _present(conn, other.id, wanted)
                known = chosen.setdefault(other.id, {})
                for task_id, indexes in present.items():
                    for index in [None] if indexes is None else sorted(indexes):
                        _choose(known, TaskRef(other.dag_id, other.run_id, task_id, index))
                if present:
                    targets.setdefault(other.id, other)
                if len(targets) > MAX_RUNS:
                    break
    return targets, chosen


def _only(selection: Selection) -> dict[str, set[int]]:
    return {task_id: indexes for task_id, indexes in selection.items() if indexes is not None}


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
    only_running: bool = False,
) -> Outcome:
    """Clear exactly these task instances (with their upstream, downstream, and the same
    instances in earlier or later runs, if asked) so that they run again."""
    targets, chosen = _targets(conn, refs, past, future)
    return _apply(
        conn,
        list(targets.values()),
        lambda run: manual.clear_tasks(
            conn,
            run.dag_id,
            run.run_id,
            list(chosen[run.id]),
            actor,
            upstream=upstream,
            downstream=downstream,
            only_failed=only_failed,
            only_running=only_running,
            instances=_only(chosen[run.id]),
        ),
    )


def mark_task_instances(
    conn: Connection,
    refs: Sequence[TaskRef],
    to: TaskState,
    actor: Actor,
    *,
    upstream: bool = False,
    downstream: bool = False,
    past: bool = False,
    future: bool = False,
) -> Outcome:
    """Mark exactly these task instances success or failed (with their upstream,
    downstream, and the same instances in earlier or later runs, if asked)."""
    targets, chosen = _targets(conn, refs, past, future)
    return _apply(
        conn,
        list(targets.values()),
        lambda run: manual.mark_tasks(
            conn,
            run.dag_id,
            run.run_id,
            list(chosen[run.id]),
            to,
            actor,
            upstream=upstream,
            downstream=downstream,
            instances=_only(chosen[run.id]),
        ),
    )


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
