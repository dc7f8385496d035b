"""What a branch or short circuit keeps as its XCom ``return_value``.

On Airflow 3 a branching task that skips something stops its ``execute`` with an exception
that carries the tasks to skip (``DownstreamTasksSkipped``): its try succeeds, but its return
value is never pushed, so ``xcom_pull`` of it reads None. When it skips nothing (it chose
every direct downstream task, or has none), or it is a mapped instance (its skips wait for
the expansion), the value is pushed as for any task. Airflow 2 always pushed it. Conveyor
keeps the value the same way for a DAG of an Airflow 3 file (``DAG.skipping_branch_keeps_value``
is False there) and always otherwise; the chosen ids still reach the engine, which skips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def _downstream_of(dag: DAG, task_ids: list[str]) -> set[str]:
    """Every task downstream of ``task_ids``, directly or not."""
    found: set[str] = set()
    for tid in task_ids:
        if tid in dag.task_dict:
            found |= dag.task_dict[tid].get_flat_relative_ids(upstream=False)
    return found


def branch_would_skip(dag: DAG, task: BaseOperator, chosen: list[str]) -> bool:
    """Whether a branch that chose ``chosen`` skips a direct downstream task: one not
    chosen and not after a chosen one (as ``engine.planning.branch_skips``)."""
    kept = set(chosen) | _downstream_of(dag, chosen)
    return any(tid not in kept for tid in task.downstream_task_ids)


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
        skips = branch_would_skip(dag, task, chosen)
    return None if skips else value
