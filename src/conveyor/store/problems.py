"""Problems of the scheduler loop: units of work that raised, kept until they succeed again.

The loop records one row per failing unit (a DAG's new runs, a run's advance, a try's
dispatch...), counting repeats, and deletes it when that unit next succeeds; ``conveyor
health`` and the web read them. Finished or deleted runs take their problems with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from conveyor.states import RUN_FINISHED
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import dag, dag_run, scheduler_problem

#: The stored error is one line; the traceback is kept apart (and capped).
ERROR_MAX = 2000
TRACEBACK_MAX = 20000


@dataclass(frozen=True)
class SchedulerProblem:
    unit: str
    action: str
    dag_id: str | None
    run_id: str | None
    error: str
    traceback: str | None
    scheduler_id: str
    first_seen: datetime
    last_seen: datetime
    occurrences: int


def record_problem(
    conn: Connection,
    *,
    unit: str,
    action: str,
    dag_id: str | None,
    run_pk: int | None,
    error: str,
    traceback: str | None,
    scheduler_id: str,
    now: datetime,
) -> None:
    """Record that ``unit`` failed now: a new row, or one more on the row it has."""
    values = {
        "scheduler_id": scheduler_id,
        "error": error[:ERROR_MAX],
        "traceback": None if traceback is None else traceback[-TRACEBACK_MAX:],
        "last_seen": now,
    }
    again = (
        update(scheduler_problem)
        .where(scheduler_problem.c.unit == unit)
        .values(occurrences=scheduler_problem.c.occurrences + 1, **values)
    )
    if conn.execute(again).rowcount:
        return
    try:
        with conn.begin_nested():  # another scheduler may record the same unit at once
            conn.execute(
                insert(scheduler_problem).values(
                    unit=unit,
                    action=action,
                    dag_id=dag_id,
                    run_pk=run_pk,
                    first_seen=now,
                    occurrences=1,
                    **values,
                )
            )
    except IntegrityError:
        conn.execute(again)


def clear_problems(conn: Connection, units: list[str]) -> None:
    conn.execute(delete(scheduler_problem).where(scheduler_problem.c.unit.in_(units)))


def problem_units(conn: Connection) -> set[str]:
    """The units with a problem on record: the ones whose success must clear it."""
    return set(conn.execute(select(scheduler_problem.c.unit)).scalars())


def settled_problem_units(conn: Connection) -> list[str]:
    """Units no loop will try again: of finished runs, and the DAG-wide ones of paused or
    removed DAGs (a paused DAG's running runs still advance)."""
    finished_runs = select(dag_run.c.id).where(dag_run.c.state.in_([s.value for s in RUN_FINISHED]))
    idle_dags = select(dag.c.dag_id).where(
        or_(dag.c.is_paused.is_(True), dag.c.is_active.is_(False))
    )
    return list(
        conn.execute(
            select(scheduler_problem.c.unit).where(
                or_(
                    scheduler_problem.c.run_pk.in_(finished_runs),
                    and_(
                        scheduler_problem.c.run_pk.is_(None),
                        scheduler_problem.c.dag_id.in_(idle_dags),
                    ),
                )
            )
        ).scalars()
    )


def list_problems(conn: Connection, dag_id: str | None = None) -> list[SchedulerProblem]:
    """Problems on record (of one DAG, if given), the most recent first."""
    query = (
        select(scheduler_problem, dag_run.c.run_id)
        .outerjoin(dag_run, dag_run.c.id == scheduler_problem.c.run_pk)
        .order_by(scheduler_problem.c.last_seen.desc(), scheduler_problem.c.unit)
    )
    if dag_id is not None:
        query = query.where(scheduler_problem.c.dag_id == dag_id)
    return [row_as(SchedulerProblem, row) for row in conn.execute(query)]
