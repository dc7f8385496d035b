"""The reads and statements of a person's clear or mark; what they do is ``engine/manual.py``.

A person's action locks its run first (:func:`locked_run`, the order every writer of a run
keeps, and the one lock of a run taken outside the engine: a run's deletion takes it too),
reads the run's task instances (:func:`instances_by_task`) and, when a mark ends a whole run,
keeps the run's start and end (:func:`kept_dates`). Which instances move, and how, is the
engine's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func

from conveyor.store import runs
from conveyor.store.hop import run_lock
from conveyor.store.runs import RunRow, TiRow
from conveyor.store.tables import dag_run


def locked_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    """The run, its row locked for this transaction (a person's action waits for the engine
    and for another person's); ``NotFoundError`` if there is no such run."""
    run = runs.find_run(conn, dag_id, run_id)
    return run_lock.lock_run(conn, run.id)


def instances_by_task(conn: Connection, run: RunRow) -> dict[str, list[TiRow]]:
    """Each task's instances: one, or one per map index for a mapped task, by map index
    (the store returns rows in any order; an action's answer lists them in this one)."""
    found: dict[str, list[TiRow]] = {}
    for ti in sorted(runs.task_instances(conn, run.id), key=lambda ti: ti.map_index):
        found.setdefault(ti.task_id, []).append(ti)
    return found


def kept_dates(now: datetime) -> Mapping[str, Any]:
    """The columns of a run a person ends by hand: its start and end as they were, ``now``
    where it has none yet, so its history still says when it ran."""
    return {
        "end_date": func.coalesce(dag_run.c.end_date, now),
        "start_date": func.coalesce(dag_run.c.start_date, now),
    }
