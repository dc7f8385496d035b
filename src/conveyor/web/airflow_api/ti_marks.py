"""Marking task instances from Airflow's ``PatchTaskInstanceBody`` for the routes that mark
many at once (the bulk task instance route, a task group's): the state through
:func:`conveyor.engine.bulk_manual.mark_task_instances` (the use case of the single mark,
with upstream, downstream, past and future), the note on each instance named."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import HTTPException

from conveyor.engine import bulk_manual
from conveyor.engine.bulk_manual import Outcome, TaskRef
from conveyor.lifecycle import MARK_TARGETS, Actor
from conveyor.states import TaskState
from conveyor.store import notes
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.web.airflow_api.ti_shapes import (
    PatchTaskInstanceBody,
    TaskInstanceResponse,
    run_instances,
)

FIELDS = frozenset(
    {
        "new_state",
        "note",
        "include_upstream",
        "include_downstream",
        "include_future",
        "include_past",
    }
)
#: A task instance: its DAG, run, task and map index.
InstanceKey = tuple[str, str, str, int]


@dataclass(frozen=True)
class Marking:
    """What to do to each task instance named: its new state and/or its note."""

    state: TaskState | None
    set_note: bool
    note: str | None
    upstream: bool = False
    downstream: bool = False
    past: bool = False
    future: bool = False


def marking(body: PatchTaskInstanceBody, update_mask: Iterable[str] | None) -> Marking:
    """The body's marking (``update_mask``: only these fields); 400 for a field Conveyor
    does not know or a state it does not mark by hand."""
    mask = set(update_mask or ())
    fields = mask if mask else body.model_fields_set & FIELDS
    unknown = fields - FIELDS
    if unknown:
        raise HTTPException(400, f"Invalid fields to update: {sorted(unknown)}")
    return Marking(
        state=marked_state(body.new_state if "new_state" in fields else None),
        set_note="note" in fields,
        note=body.note,
        upstream=body.include_upstream,
        downstream=body.include_downstream,
        past=body.include_past,
        future=body.include_future,
    )


def marked_state(given: str | None) -> TaskState | None:
    """A body's ``new_state`` as the state a person marks a task instance with (None: not
    given); 400 for any other state."""
    if given is None:
        return None
    if given not in MARK_TARGETS:
        raise HTTPException(
            400, f"new_state: Conveyor marks a task instance success or failed, not {given!r}"
        )
    return TaskState(given)


def named_instances(conn: Connection, refs: Sequence[TaskRef]) -> list[InstanceKey]:
    """The instances ``refs`` name (a ref without map index: each instance of its task)."""
    found: list[InstanceKey] = []
    for ref in refs:
        run = run_reads.get_run(conn, ref.dag_id, ref.run_id)
        found += [
            (ref.dag_id, ref.run_id, row.task_id, row.map_index)
            for row in task_reads.instances(conn, run.id)
            if row.task_id == ref.task_id and ref.map_index in (None, row.map_index)
        ]
    return found


def apply(conn: Connection, refs: Sequence[TaskRef], how: Marking, actor: Actor) -> Outcome:
    """Mark the instances ``refs`` name (with their relatives, as asked) and set the note of
    each named one; the outcome says which instances changed state."""
    outcome = Outcome()
    if how.set_note:
        for dag_id, run_id, task_id, map_index in named_instances(conn, refs):
            notes.set_task_note(conn, dag_id, run_id, task_id, how.note, map_index)
    if how.state is not None and refs:
        outcome = bulk_manual.mark_task_instances(
            conn,
            refs,
            how.state,
            actor,
            upstream=how.upstream,
            downstream=how.downstream,
            past=how.past,
            future=how.future,
        )
    return outcome


def marked_keys(outcome: Outcome, how: Marking) -> list[InstanceKey]:
    """The instances the mark set to its state (those named, and the relatives asked for);
    not those cleared below them to run again, which the single mark does not list either."""
    wanted = how.state.value if how.state is not None else None
    return [
        (c.dag_id, c.run_id, c.task_id, c.map_index) for c in outcome.changed if c.after == wanted
    ]


def shown(conn: Connection, keys: Iterable[InstanceKey]) -> list[TaskInstanceResponse]:
    """These task instances as they are now, in Airflow's shape, each once, by run."""
    wanted: dict[tuple[str, str], set[tuple[str, int]]] = {}
    for dag_id, run_id, task_id, map_index in keys:
        wanted.setdefault((dag_id, run_id), set()).add((task_id, map_index))
    found: list[TaskInstanceResponse] = []
    for (dag_id, run_id), chosen in wanted.items():
        run = run_reads.get_run(conn, dag_id, run_id)
        rows = [r for r in task_reads.instances(conn, run.id) if (r.task_id, r.map_index) in chosen]
        found += run_instances(conn, run, rows)
    return found
