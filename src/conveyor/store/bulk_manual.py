"""The reads of a clear or mark of many task instances or runs; what they do is
``engine/bulk_manual.py``.

Each instance's state of a run (:func:`states`, read before and after an action, so what
changed is read, not predicted), the DAG's runs before or after one (:func:`runs_around`),
and which of the chosen instances a run has (:func:`present`).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from conveyor.store import runs
from conveyor.store.runs import RunRow
from conveyor.store.tables import dag_run, task_instance

#: Of each task chosen in a run, the map indexes chosen (None: all of its instances).
Selection = dict[str, set[int] | None]


def states(conn: Connection, run_pk: int) -> dict[tuple[str, int], str]:
    """Each task instance's state, by task id and map index."""
    rows = conn.execute(
        select(task_instance.c.task_id, task_instance.c.map_index, task_instance.c.state).where(
            task_instance.c.run_pk == run_pk
        )
    )
    return {(r.task_id, r.map_index): r.state for r in rows}


def runs_around(
    conn: Connection, run: RunRow, past: bool, future: bool, *, limit: int
) -> list[RunRow]:
    """The DAG's runs with a logical date before (``past``) or after (``future``) the
    run's, at most ``limit`` (the run itself left out)."""
    bounds = []
    if past and not future:
        bounds.append(dag_run.c.logical_date < run.logical_date)
    elif future and not past:
        bounds.append(dag_run.c.logical_date > run.logical_date)
    pks = conn.execute(
        select(dag_run.c.id).where(dag_run.c.dag_id == run.dag_id, *bounds).limit(limit)
    ).scalars()
    return [runs.get_run(conn, pk) for pk in pks if pk != run.id]


def present(conn: Connection, run_pk: int, wanted: Selection) -> Selection:
    """Of ``wanted``, the tasks and instances this run has."""
    rows = conn.execute(
        select(task_instance.c.task_id, task_instance.c.map_index).where(
            task_instance.c.run_pk == run_pk, task_instance.c.task_id.in_(set(wanted))
        )
    )
    found: Selection = {}
    for task_id, index in rows:
        indexes = wanted[task_id]
        if indexes is None:
            found[task_id] = None
        elif index in indexes:
            have = found.setdefault(task_id, set())
            assert have is not None
            have.add(index)
    return found
