"""Clear or mark many task instances or runs at once, and say exactly what changed.

Each run is changed through :mod:`conveyor.engine.manual`, the actions the single ones
are, so the rules are the same (a queued or running try is ended and its process stopped,
a finished run goes back to the scheduler). Each bulk action is one ordered list of rules
(``engine.policy``): :data:`BULK_TASKS` for chosen task instances, :data:`BULK_RUNS` for
whole runs. Runs are taken in the order of their keys, the order in which any writer that
locks several runs must take them.

What changed is read, not predicted: every instance's state before and after the call, in
the same transaction (``store/bulk_manual.py``). A preview (the API's ``dry_run``) makes the
very same calls and then rolls the transaction back, so what it shows is what confirming it
does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from conveyor.engine import manual
from conveyor.engine.policy import Point, Rule, always, follow, register
from conveyor.lifecycle import Actor
from conveyor.states import IN_FLIGHT, TaskState
from conveyor.store import bulk_manual, runs
from conveyor.store.bulk_manual import Selection
from conveyor.store.engine import Connection
from conveyor.store.runs import RunRow

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
    instances in earlier or later runs, if asked) so that they run again. :data:`BULK_TASKS`."""

    def clear(b: _Bulk, run: RunRow) -> manual.ManualResult:
        return manual.clear_tasks(
            conn,
            run.dag_id,
            run.run_id,
            list(b.chosen[run.id]),
            actor,
            upstream=upstream,
            downstream=downstream,
            only_failed=only_failed,
            only_running=only_running,
            instances=_only(b.chosen[run.id]),
        )

    return follow(BULK_TASKS, _Bulk(conn, clear, refs, past=past, future=future)).outcome


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
    downstream, and the same instances in earlier or later runs, if asked). :data:`BULK_TASKS`."""

    def mark(b: _Bulk, run: RunRow) -> manual.ManualResult:
        return manual.mark_tasks(
            conn,
            run.dag_id,
            run.run_id,
            list(b.chosen[run.id]),
            to,
            actor,
            upstream=upstream,
            downstream=downstream,
            instances=_only(b.chosen[run.id]),
        )

    return follow(BULK_TASKS, _Bulk(conn, mark, refs, past=past, future=future)).outcome


def clear_runs(
    conn: Connection, refs: Sequence[RunRef], actor: Actor, *, only_failed: bool = False
) -> Outcome:
    """Clear every task instance of these runs (or only the failed ones). :data:`BULK_RUNS`."""

    def clear(_b: _Bulk, run: RunRow) -> manual.ManualResult:
        return manual.clear_tasks(
            conn, run.dag_id, run.run_id, None, actor, only_failed=only_failed
        )

    return follow(BULK_RUNS, _Bulk(conn, clear, refs)).outcome


def mark_runs(conn: Connection, refs: Sequence[RunRef], to: TaskState, actor: Actor) -> Outcome:
    """Mark these runs success (every task) or failed (every unfinished task). :data:`BULK_RUNS`."""

    def mark(_b: _Bulk, run: RunRow) -> manual.ManualResult:
        return manual.mark_run(conn, run.dag_id, run.run_id, to, actor)

    return follow(BULK_RUNS, _Bulk(conn, mark, refs)).outcome


# -- what the rules read ------------------------------------------------------------------


@dataclass
class _Bulk:
    """A bulk action being made: what the lists read and write."""

    conn: Connection
    act: Callable[[_Bulk, RunRow], manual.ManualResult]  # the single action, on one run
    refs: Sequence[RunRef]
    past: bool = False
    future: bool = False
    targets: dict[int, RunRow] = field(default_factory=dict)  # by key: each run once
    chosen: dict[int, Selection] = field(default_factory=dict)  # of a run: its instances
    outcome: Outcome = field(default_factory=Outcome)


def _find_runs(b: _Bulk) -> None:
    for ref in b.refs:
        run = runs.find_run(b.conn, ref.dag_id, ref.run_id)  # NotFoundError names it
        b.targets[run.id] = run


def _choose_named(b: _Bulk) -> None:
    for ref in b.refs:
        assert isinstance(ref, TaskRef)
        run = runs.find_run(b.conn, ref.dag_id, ref.run_id)  # NotFoundError names it
        b.targets[run.id] = run
        _choose(b.chosen.setdefault(run.id, {}), ref.task_id, ref.map_index)


def _past_or_future(b: _Bulk) -> bool:
    return b.past or b.future


def _reach_around(b: _Bulk) -> None:
    """The same instances in the DAG's earlier or later runs, those of them each run has,
    as Airflow's clear and mark reach them."""
    for origin in list(b.targets.values()):
        wanted = b.chosen[origin.id]
        around = bulk_manual.runs_around(b.conn, origin, b.past, b.future, limit=MAX_RUNS + 1)
        for other in around:
            present = bulk_manual.present(b.conn, other.id, wanted)
            known = b.chosen.setdefault(other.id, {})
            for task_id, indexes in present.items():
                for index in [None] if indexes is None else sorted(indexes):
                    _choose(known, task_id, index)
            if present:
                b.targets.setdefault(other.id, other)
            if len(b.targets) > MAX_RUNS:
                break


def _too_many(b: _Bulk) -> bool:
    return len(b.targets) > MAX_RUNS


def _refuse(b: _Bulk) -> None:
    raise TooManyRuns(
        f"this would change {len(b.targets)} runs, more than {MAX_RUNS} at once: "
        "choose fewer task instances or runs"
    )


def _act_in_key_order(b: _Bulk) -> None:
    for run in sorted(b.targets.values(), key=lambda r: r.id):
        _observe(b.conn, run, partial(b.act, b, run), b.outcome)


#: Chosen task instances cleared or marked (:func:`clear_task_instances`,
#: :func:`mark_task_instances`), in order.
BULK_TASKS: tuple[Rule[_Bulk], ...] = register(
    Point("bulk_manual.tasks", ("a person's action",)),
    (
        Rule("choose the instances named", always, _choose_named),
        Rule("reach the same instances in earlier or later runs", _past_or_future, _reach_around),
        Rule("refuse more runs than MAX_RUNS", _too_many, _refuse),
        Rule("act on each run in key order, reading what changed", always, _act_in_key_order),
    ),
)

#: Whole runs cleared or marked (:func:`clear_runs`, :func:`mark_runs`), in order.
BULK_RUNS: tuple[Rule[_Bulk], ...] = register(
    Point("bulk_manual.runs", ("a person's action",)),
    (
        Rule("find the runs named", always, _find_runs),
        Rule("refuse more runs than MAX_RUNS", _too_many, _refuse),
        Rule("act on each run in key order, reading what changed", always, _act_in_key_order),
    ),
)


def _observe(
    conn: Connection, run: RunRow, call: Callable[[], manual.ManualResult], outcome: Outcome
) -> manual.ManualResult:
    """``call`` (an action on ``run``), adding to ``outcome`` every instance of the run
    whose state it changed, and the run's state before and after."""
    before = bulk_manual.states(conn, run.id)
    result = call()
    after = bulk_manual.states(conn, run.id)
    for (task_id, index), state in after.items():
        was = before.get((task_id, index), TaskState.NONE.value)
        if was != state:
            change = Change(run.dag_id, run.run_id, task_id, index, was, state)
            outcome.changed.append(change)
            if TaskState(was) in IN_FLIGHT:
                outcome.stopped.append(change)
    outcome.runs.append(RunChange(run.dag_id, run.run_id, run.state.value, result.run_state.value))
    return result


def _choose(selection: Selection, task_id: str, map_index: int | None) -> None:
    if task_id in selection and selection[task_id] is None:
        return
    if map_index is None:
        selection[task_id] = None
    else:
        chosen = selection.setdefault(task_id, set())
        assert chosen is not None
        chosen.add(map_index)


def _only(selection: Selection) -> dict[str, set[int]]:
    return {task_id: indexes for task_id, indexes in selection.items() if indexes is not None}
