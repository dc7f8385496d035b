"""What the scheduler needs to know of setups and teardowns beyond direct upstream states.

Pure graph work, done once when a DAG is serialized (only for DAGs that have setups):

- a teardown's *scope*: the tasks between its setups and itself that are not its direct
  upstream; it waits for them too, so it never tears down what a task still uses;
- a work task's *indirect setups*: setups upstream of it, not directly, whose teardowns are
  downstream of it (or that have no teardown); if one of them failed the task is
  upstream_failed, if one was skipped it is skipped, and it waits for them to succeed,
  whatever its own trigger rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.model.dag import DAG


def _closure(dag: DAG, start: str, step: Callable[[str], set[str]]) -> set[str]:
    found: set[str] = set()
    stack = list(step(start))
    while stack:
        tid = stack.pop()
        if tid not in found:
            found.add(tid)
            stack.extend(step(tid))
    return found


def setup_teardown_fields(dag: DAG) -> dict[str, dict[str, Any]]:
    """Per task id, the extra serialized fields: ``teardown_scope`` and ``indirect_setups``
    (sorted), only where not empty. Empty for a DAG without setups."""
    tasks = dag.task_dict
    if not any(getattr(t, "is_setup", False) for t in tasks.values()):
        return {}

    def up(tid: str) -> set[str]:
        return tasks[tid].upstream_task_ids

    def down(tid: str) -> set[str]:
        return tasks[tid].downstream_task_ids

    ancestors = {tid: _closure(dag, tid, up) for tid in tasks}
    descendants = {tid: _closure(dag, tid, down) for tid in tasks}
    fields: dict[str, dict[str, Any]] = {}
    for tid, task in tasks.items():
        found: dict[str, Any] = {}
        if getattr(task, "is_teardown", False):
            setups = [u for u in task.upstream_task_ids if getattr(tasks[u], "is_setup", False)]
            indirect = ancestors[tid] - task.upstream_task_ids
            scope = {t for s in setups for t in indirect & descendants[s]}
            if scope:
                found["teardown_scope"] = sorted(scope)
        else:
            below = {t for t in descendants[tid] if getattr(tasks[t], "is_teardown", False)}
            relevant = []
            for setup in ancestors[tid] - task.upstream_task_ids:
                if not getattr(tasks[setup], "is_setup", False):
                    continue
                teardowns = {d for d in down(setup) if getattr(tasks[d], "is_teardown", False)}
                if not teardowns or teardowns & below:
                    relevant.append(setup)
            if relevant:
                found["indirect_setups"] = sorted(relevant)
        if found:
            fields[tid] = found
    return fields
