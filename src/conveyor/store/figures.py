"""Cluster-wide figures the Prometheus metrics report: counts by state, queue depth, and the
durations and scheduling delays of recent tries.

Read at each scrape from the store, so every web replica reports the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from conveyor.states import IN_FLIGHT, TaskState
from conveyor.store.tables import dag_run, task_event, task_instance, task_try


def _count_by(conn: Connection, column: Any) -> dict[str, int]:
    return {
        state: count for state, count in conn.execute(select(column, func.count()).group_by(column))
    }


def runs_by_state(conn: Connection) -> dict[str, int]:
    """How many DAG runs are in each state (states with none are absent)."""
    return _count_by(conn, dag_run.c.state)


def runs_by_state_since(
    conn: Connection, since: datetime, dag_ids: Collection[str] | None = None
) -> dict[str, int]:
    """How many DAG runs queued since ``since`` are in each state now (the home page);
    ``dag_ids``: only these DAGs' runs."""
    found = select(dag_run.c.state, func.count()).where(dag_run.c.queued_at >= since)
    if dag_ids is not None:
        found = found.where(dag_run.c.dag_id.in_(sorted(dag_ids)))
    found = found.group_by(dag_run.c.state)
    return {str(state): int(count) for state, count in conn.execute(found)}


def task_instances_by_state(conn: Connection) -> dict[str, int]:
    """How many task instances are in each state (states with none are absent)."""
    return _count_by(conn, task_instance.c.state)


def tries_by_state(conn: Connection) -> dict[str, int]:
    """How many tries are running or ended in each state (states with none are absent)."""
    return _count_by(conn, task_try.c.state)


def queue_depth(conn: Connection) -> dict[str, int]:
    """Queued task instances (queued, not yet started), by queue."""
    rows = conn.execute(
        select(task_instance.c.queue, func.count())
        .where(task_instance.c.state == TaskState.QUEUED.value)
        .group_by(task_instance.c.queue)
    )
    return {queue: count for queue, count in rows}


def durations_by_dag(conn: Connection, since: datetime) -> dict[str, list[float]]:
    """Durations in seconds of the tries that started at or after ``since`` and ended."""
    rows = conn.execute(
        select(task_instance.c.dag_id, task_try.c.duration)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(task_try.c.start_date >= since, task_try.c.duration.is_not(None))
    )
    by_dag: dict[str, list[float]] = defaultdict(list)
    for dag_id, duration in rows:
        by_dag[dag_id].append(float(duration))
    return dict(by_dag)


@dataclass(frozen=True)
class TryStart:
    """When a try was ready (its ``scheduled`` timeline entry) and when it started."""

    queue: str
    ready_at: datetime
    started_at: datetime


def try_starts(conn: Connection, since: datetime) -> list[TryStart]:
    """The tries that started at or after ``since``, with when each became ready."""
    ready = (
        select(
            task_event.c.ti_id,
            task_event.c.try_number,
            func.min(task_event.c.at).label("ready_at"),
        )
        .where(task_event.c.kind == "scheduled", task_event.c.at >= since - timedelta(days=1))
        .group_by(task_event.c.ti_id, task_event.c.try_number)
        .subquery()
    )
    rows = conn.execute(
        select(task_instance.c.queue, task_try.c.start_date, ready.c.ready_at)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .join(
            ready,
            and_(ready.c.ti_id == task_try.c.ti_id, ready.c.try_number == task_try.c.try_number),
        )
        .where(task_try.c.start_date >= since)
    )
    return [TryStart(queue, ready_at, start) for queue, start, ready_at in rows]


def instances_by_task(
    conn: Connection, states: Collection[TaskState]
) -> dict[tuple[str, str, str, str], int]:
    """How many task instances are in each of ``states`` now, by (state, DAG, task, queue):
    Airflow's ``ti.<state>`` gauges."""
    ti = task_instance.c
    rows = conn.execute(
        select(ti.state, ti.dag_id, ti.task_id, ti.queue, func.count())
        .where(ti.state.in_(sorted(state.value for state in states)))
        .group_by(ti.state, ti.dag_id, ti.task_id, ti.queue)
    )
    return {(state, dag_id, task_id, queue): int(n) for state, dag_id, task_id, queue, n in rows}


def in_flight_by_state(conn: Connection) -> tuple[int, int]:
    """Task instances queued and running now, in every run (the executor's gauges)."""
    found = dict.fromkeys(sorted(state.value for state in IN_FLIGHT), 0)
    rows = conn.execute(
        select(task_instance.c.state, func.count())
        .where(task_instance.c.state.in_(list(found)))
        .group_by(task_instance.c.state)
    )
    found.update({str(state): int(count) for state, count in rows})
    return found[TaskState.QUEUED.value], found[TaskState.RUNNING.value]
