"""Reads of a run's outcome that many tests assert on, written once.

Imported as ``store_reads`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from conveyor.store import mapping
from conveyor.store.engine import Connection, Store
from conveyor.store.tables import task_instance, task_try, xcom
from conveyor.xcom_serde import decode


def task_states(conn: Connection, run_pk: int) -> dict[str, str]:
    """Each task's state in the run, by task id."""
    rows = conn.execute(
        select(task_instance.c.task_id, task_instance.c.state).where(
            task_instance.c.run_pk == run_pk
        )
    ).all()
    return {task_id: state for task_id, state in rows}


def states_of(store: Store, run_pk: int) -> dict[str, str]:
    """:func:`task_states` in a read transaction of its own."""
    with store.read() as conn:
        return task_states(conn, run_pk)


def try_hosts(conn: Connection, run_pk: int) -> set[str]:
    """The hosts the run's tries ran on."""
    return set(
        conn.execute(
            select(task_try.c.hostname)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.run_pk == run_pk)
        ).scalars()
    )


def returned(store: Store, run_pk: int, task_id: str, *, kept: bool = True) -> Any:
    """What the task returned in the run: its one ``return_value`` XCom (``kept=False``:
    None where the try kept none)."""
    with store.read() as conn:
        found = conn.execute(
            select(xcom.c.value).where(
                xcom.c.run_pk == run_pk, xcom.c.task_id == task_id, xcom.c.key == "return_value"
            )
        )
        return found.scalar_one() if kept else found.scalar_one_or_none()


def xcom_value(conn: Connection, run_pk: int, task_id: str, key: str) -> Any:
    """A task's XCom as downstream tasks read it: a tuple, a datetime... as itself
    (``xcom_serde``), any class read back; of a mapped task, the list of its instances'."""
    return decode(mapping.xcom_value(conn, run_pk, task_id, key), lambda _name: True)
