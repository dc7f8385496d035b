"""Setups and teardowns: the ``with teardown:`` block, and what the scheduler needs to know
beyond direct upstream states.

``with teardown_task:`` (also ``with setup >> teardown:`` and with a setup): the tasks made
inside the block go between the setups and the teardown: every setup (of the teardown, or
the setup itself) is made upstream of the block's first tasks, and the block's last tasks
upstream of the teardown (of each teardown after the setup).

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

from conveyor.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from conveyor.model.dag import DAG
    from conveyor.model.task import BaseOperator

#: Per open ``with`` block: the task and the ids its DAG had when the block began.
_scopes: list[tuple[BaseOperator, set[str]]] = []


def enter_scope(task: BaseOperator) -> None:
    if not (task.is_setup or task.is_teardown) or task.dag is None:
        raise DagDefinitionError(
            f"'with {task.task_id}:' needs a setup or teardown task of a DAG "
            "(mark it with as_setup(), as_teardown(), @setup or @teardown)"
        )
    _scopes.append((task, set(task.dag.task_dict)))


def exit_scope(task: BaseOperator, *, failed: bool) -> None:
    opened, before = _scopes.pop()
    if failed or opened is not task or task.dag is None:
        return  # an error in the block is reported as it is
    dag = task.dag
    made = {tid: t for tid, t in dag.task_dict.items() if tid not in before}
    made.pop(task.task_id, None)
    if task.is_teardown:
        setups = [dag.task_dict[u] for u in task.upstream_task_ids if dag.task_dict[u].is_setup]
        teardowns = [task]
    else:
        setups = [task]
        teardowns = [
            dag.task_dict[d] for d in task.downstream_task_ids if dag.task_dict[d].is_teardown
        ]
    for setup in setups:
        made.pop(setup.task_id, None)
    roots = [t for t in made.values() if not t.upstream_task_ids & made.keys()]
    leaves = [t for t in made.values() if not t.downstream_task_ids & made.keys()]
    for setup in setups:
        for root in roots:
            if root.task_id not in setup.downstream_task_ids:
                setup.set_downstream(root)
    for teardown in teardowns:
        for leaf in leaves:
            if leaf.task_id not in teardown.upstream_task_ids and leaf is not teardown:
                leaf.set_downstream(teardown)


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
