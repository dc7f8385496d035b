"""Per-task limits: ``max_active_tis_per_dag`` and ``max_active_tis_per_dagrun``.

A task with a limit has at most that many instances active (queued, running or deferred,
as Airflow counts them) across all runs of its DAG, or within one run. Whoever queues a try
of such a task counts, under a lock, in the transaction that queues it, as pools do
(``store.pools``): within one run the run's lock (held already) serializes its queuers; across
runs a task with ``max_active_tis_per_dag`` has a lock of its own, a PostgreSQL advisory
transaction lock per (DAG, task), taken after the run's row and before the pools' rows, in
task order, so two schedulers or workers queueing runs of one DAG cannot both take its last
place. On SQLite the single writer serializes them already. What fits is decided above the
store, in ``conveyor.engine.admission``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select, text

from conveyor.lifecycle import ACTIVE
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.tables import task_instance

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass
class TaskCounts:
    """Active instances of some tasks, as one queueing transaction found them."""

    #: task id -> active instances in every run of the DAG (tasks with a per-DAG limit).
    in_dag: dict[str, int] = field(default_factory=dict)
    #: task id -> active instances in the run being queued.
    in_run: dict[str, int] = field(default_factory=dict)
    #: task id -> the runs (run ids) holding those of ``in_dag``, for "why".
    runs: dict[str, list[str]] = field(default_factory=dict)


def lock_task_limits(
    conn: Connection, run: LockedRun, per_dag: Iterable[str], per_run: Iterable[str]
) -> TaskCounts:
    """Lock the per-DAG limits of tasks ``per_dag`` (task order) and count the active
    instances of those tasks and of ``per_run`` (this run only), for queueing them."""
    across = sorted(set(per_dag))
    within = sorted(set(per_run) | set(across))
    if not within:
        return TaskCounts()
    if conn.dialect.name == "postgresql":
        for task_id in across:
            conn.execute(_LOCK, {"key": f"conveyor.task_limit\x1f{run.dag_id}\x1f{task_id}"})
    ti = task_instance.c
    states = [s.value for s in ACTIVE]
    counts = TaskCounts()
    if across:
        found: dict[str, int] = defaultdict(int)
        holders: dict[str, list[str]] = defaultdict(list)
        for task_id, run_id, n in conn.execute(
            select(ti.task_id, ti.run_id, func.count())
            .where(ti.dag_id == run.dag_id, ti.task_id.in_(across), ti.state.in_(states))
            .group_by(ti.task_id, ti.run_id)
            .order_by(ti.task_id, ti.run_id)
        ):
            found[task_id] += int(n)
            holders[task_id].append(run_id)
        counts.in_dag, counts.runs = dict(found), dict(holders)
    counts.in_run = {
        task_id: int(n)
        for task_id, n in conn.execute(
            select(ti.task_id, func.count())
            .where(ti.run_pk == run.id, ti.task_id.in_(within), ti.state.in_(states))
            .group_by(ti.task_id)
        )
    }
    return counts


def active_instances(conn: Connection, dag_id: str, task_id: str) -> dict[str, int]:
    """Run id -> active instances of one task across its DAG's runs (for "why")."""
    ti = task_instance.c
    return {
        run_id: int(n)
        for run_id, n in conn.execute(
            select(ti.run_id, func.count())
            .where(
                ti.dag_id == dag_id,
                ti.task_id == task_id,
                ti.state.in_([s.value for s in ACTIVE]),
            )
            .group_by(ti.run_id)
            .order_by(ti.run_id)
        )
    }
