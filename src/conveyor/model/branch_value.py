"""What a branch or short circuit keeps as its XCom ``return_value``.

On Airflow 3 a branching task that skips something stops its ``execute`` with an exception
that carries the tasks to skip (``DownstreamTasksSkipped``): its try succeeds, but its return
value is never pushed, so ``xcom_pull`` of it reads None. When it skips nothing (it chose
every direct downstream task, or has none), or it is a mapped instance (its skips wait for
the expansion), the value is pushed as for any task. Airflow 2 always pushed it. Conveyor
keeps the value the same way for a DAG of an Airflow 3 file (``DAG.skipping_branch_keeps_value``
is False there) and always otherwise; the chosen ids still reach the engine, which skips.
In such a file an operator's own ``skip`` or ``skip_all_except`` (``SkipMixin``) ends its
``execute`` there too, by ``DownstreamTasksSkipped``; Airflow 2's went on.

The value kept is what the branch returned (an id, a list, a task group's id), as in
Airflow; what it chose, checked and with groups expanded, is ``branch_choice``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from conveyor.exceptions import DownstreamTasksSkipped, TaskError

if TYPE_CHECKING:
    from conveyor.model.dag import DAG
    from conveyor.model.task import BaseOperator


#: Where an operator's skip calls (Airflow's ``SkipMixin``: ``skip``, ``skip_all_except``)
#: leave the direct downstream tasks its try follows; the others are skipped when it succeeds.
FOLLOWED_BY_SKIPS = "_conveyor_followed"


def take_followed(task: BaseOperator) -> list[str] | None:
    """What the task's skip calls left, cleared (None: it made none)."""
    followed: list[str] | None = task.__dict__.pop(FOLLOWED_BY_SKIPS, None)
    return followed


def skips_end_execute(task: BaseOperator) -> bool:
    """Whether a skip call ends the task's ``execute`` (Airflow 3's files), or lets it go on
    (Airflow 2's, Conveyor's own)."""
    return task.dag is not None and not task.dag.skipping_branch_keeps_value


def record_skips(task: BaseOperator, skipped: Iterable[str | tuple[str, int]]) -> list[str]:
    """Skip ``skipped`` (ids, or Airflow's ``(id, map_index)`` pairs) of the task's direct
    downstream tasks when its try succeeds, beside what earlier skip calls left; a task
    further down is refused naming it. The ids skipped, sorted."""
    ids = {item[0] if isinstance(item, tuple) else item for item in skipped}
    beyond = sorted(ids - task.downstream_task_ids)
    if beyond:
        raise TaskError(
            f"task {task.task_id!r} asked to skip {beyond}, which are not directly "
            "downstream of it: Conveyor skips a task's direct downstream tasks, and the "
            "ones after them by their trigger rules"
        )
    followed = task.__dict__.get(FOLLOWED_BY_SKIPS)
    kept = task.downstream_task_ids if followed is None else set(followed)
    setattr(task, FOLLOWED_BY_SKIPS, sorted(kept - ids))
    return sorted(ids)


def follow_only(task: BaseOperator, chosen: list[str]) -> None:
    """Follow only ``chosen`` (checked ids) when the try succeeds, as a branch does; in an
    Airflow 3 file, end ``execute`` here when that skips a direct downstream task."""
    setattr(task, FOLLOWED_BY_SKIPS, chosen)
    if task.dag is not None and skips_end_execute(task):
        skipped = branch_skips(task.dag, task, chosen)
        if skipped:
            raise DownstreamTasksSkipped(tasks=skipped)


def branch_choice(task: BaseOperator, chosen: Any, *, groups: bool = True) -> list[str]:
    """What a branch callable returned (an id, a list of ids, or None) as a list of ids,
    each checked to be a task of the DAG. A task group's id stands for the group's first
    tasks, as in Airflow's branches (not in its ``skip_all_except``: ``groups=False``).

    A task further down may be chosen, as in Airflow: then every direct downstream task
    that does not lead to it is skipped, and it runs or is skipped by its trigger rule.
    """
    if chosen is None:
        chosen = []
    if isinstance(chosen, str):
        chosen = [chosen]
    ids: list[str] = []
    dag = task.dag
    for tid in chosen:
        group = None
        if groups and dag is not None and tid not in dag.task_dict:
            group = dag.task_groups.get(tid)
        ids.extend([root.task_id for root in group.roots] if group is not None else [tid])
    known = set(task.dag.task_ids) if task.dag is not None else task.downstream_task_ids
    unknown = [tid for tid in ids if tid not in known]
    if unknown:
        raise TaskError(
            f"branch task {task.task_id!r} chose {unknown}, which are not tasks of its DAG "
            f"(its direct downstream tasks: {sorted(task.downstream_task_ids)})"
        )
    return ids


def _downstream_of(dag: DAG, task_ids: list[str]) -> set[str]:
    """Every task downstream of ``task_ids``, directly or not."""
    found: set[str] = set()
    for tid in task_ids:
        if tid in dag.task_dict:
            found |= dag.task_dict[tid].get_flat_relative_ids(upstream=False)
    return found


def branch_skips(dag: DAG, task: BaseOperator, chosen: list[str]) -> list[str]:
    """The direct downstream tasks a branch that chose ``chosen`` skips: those not chosen
    and not after a chosen one (as ``engine.planning.branch_skips``), sorted."""
    kept = set(chosen) | _downstream_of(dag, chosen)
    return sorted(tid for tid in task.downstream_task_ids if tid not in kept)


def short_circuit_would_skip(dag: DAG, task: BaseOperator, every: bool) -> bool:
    """Whether a short circuit that said stop skips a task: teardowns are left to run."""
    reach = _downstream_of(dag, [task.task_id]) if every else set(task.downstream_task_ids)
    return any(not dag.task_dict[tid].is_teardown for tid in reach)


def kept_value(
    dag: DAG, task: BaseOperator, value: Any, chosen: list[str] | None, map_index: int
) -> Any:
    """The return value a branching try keeps as its XCom (``chosen``: its choice, [] for a
    short circuit that said stop, None for a task that did not branch)."""
    if chosen is None or map_index >= 0 or dag.skipping_branch_keeps_value:
        return value
    if task.skip_downstream is not None:
        skips = short_circuit_would_skip(dag, task, task.skip_downstream == "all")
    else:
        skips = bool(branch_skips(dag, task, chosen))
    return None if skips else value
