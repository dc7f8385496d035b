"""The audit entries of a clear or mark: one per run it was asked about, naming the run and
its task(s), as Airflow's event log names each (dag_id, run_id, task_id, map_index).

An entry's target is ``dag/run/task`` when one task of the run was chosen, else ``dag/run``;
its details carry ``run_id``, ``task_id`` (one task) or ``task_ids`` (several),
``map_index`` (one instance) and the instances of that run the action changed; what it
changed in other runs (``past``/``future``) is listed in the DAG's first entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conveyor.engine.bulk_manual import Outcome, RunRef, TaskRef

#: (dag_id, target, details) of one entry, as ``audit_trail.note_targets`` takes them.
Target = tuple[str, str, dict[str, Any]]
MAX_LISTED = 200  # tasks or changed instances named in one entry


def of_refs(refs: Sequence[RunRef], outcome: Outcome) -> list[Target]:
    """One entry per run ``refs`` name (task refs or run refs), in the order first named."""
    chosen: dict[tuple[str, str], dict[str, set[int | None]]] = {}
    for ref in refs:
        tasks = chosen.setdefault((ref.dag_id, ref.run_id), {})
        if isinstance(ref, TaskRef):
            tasks.setdefault(ref.task_id, set()).add(ref.map_index)
    found = [_entry(dag_id, run_id, tasks, outcome) for (dag_id, run_id), tasks in chosen.items()]
    _note_other_runs(found, set(chosen), outcome)
    return found


def _note_other_runs(found: list[Target], named: set[tuple[str, str]], outcome: Outcome) -> None:
    """Changes in runs nobody named (``past``/``future``) go in the DAG's first entry."""
    first: dict[str, dict[str, Any]] = {}
    for dag_id, _, details in found:
        first.setdefault(dag_id, details)
    for c in outcome.changed:
        if (c.dag_id, c.run_id) in named or c.dag_id not in first:
            continue
        other = first[c.dag_id].setdefault("changed_in_other_runs", [])
        if len(other) < MAX_LISTED:
            other.append(f"{c.run_id}/{_instance(c.task_id, c.map_index)}")


def _entry(dag_id: str, run_id: str, tasks: dict[str, set[int | None]], outcome: Outcome) -> Target:
    details: dict[str, Any] = {"run_id": run_id}
    target = f"{dag_id}/{run_id}"
    if len(tasks) == 1:
        ((task_id, indexes),) = tasks.items()
        target += f"/{task_id}"
        details["task_id"] = task_id
        if len(indexes) == 1 and None not in indexes:
            details["map_index"] = next(iter(indexes))
    elif tasks:
        details["task_ids"] = sorted(tasks)[:MAX_LISTED]
    changed = [
        _instance(c.task_id, c.map_index)
        for c in outcome.changed
        if c.dag_id == dag_id and c.run_id == run_id
    ]
    details["changed"] = changed[:MAX_LISTED]
    return dag_id, target, details


def _instance(task_id: str, map_index: int) -> str:
    return task_id + (f"[{map_index}]" if map_index >= 0 else "")
