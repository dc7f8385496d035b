"""What a run left behind besides its task instances: its tries and its XComs.

``conveyor.testing`` reports them to a test when the run it drove has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from conveyor.store.tables import task_instance, task_try, xcom


@dataclass(frozen=True)
class TryResult:
    ti_id: int
    try_number: int
    error: str | None
    log_path: str | None


@dataclass(frozen=True)
class XComEntry:
    task_id: str
    key: str
    map_index: int
    value: Any


def tries_of_run(conn: Connection, run_pk: int) -> list[TryResult]:
    """Every try of the run's task instances, by try number (the last try of each last)."""
    rows = conn.execute(
        select(task_try.c.ti_id, task_try.c.try_number, task_try.c.error, task_try.c.log_path)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(task_instance.c.run_pk == run_pk)
        .order_by(task_try.c.try_number)
    )
    return [TryResult(*row) for row in rows]


def xcoms_of_run(conn: Connection, run_pk: int) -> list[XComEntry]:
    """Every XCom the run's tasks pushed."""
    rows = conn.execute(
        select(xcom.c.task_id, xcom.c.key, xcom.c.map_index, xcom.c.value).where(
            xcom.c.run_pk == run_pk
        )
    )
    return [XComEntry(*row) for row in rows]
