"""Asking the scheduler to plan a run whole in its next loop (table ``run_plan_request``).

A try's end advances its run itself (the fast path). Whatever else changes what a running
run may do next, and does not plan the run itself, asks for a plan here: a person clearing or
marking its tasks, a DAG unpaused, the run before it moving on (``depends_on_past``).

A request is an INSERT that locks no run: a try's end may ask for the next run's plan while
that run's own writer holds it. The scheduler reads the requests before it plans, and deletes
exactly the ones it read once the plan is made; a request committed later is still there
for the next loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, insert, literal, select

from conveyor.clock import utcnow
from conveyor.states import RunState
from conveyor.store.runs import RunRow
from conveyor.store.tables import UtcDateTime, dag_run, run_plan_request

_REQUEST = run_plan_request.c


def request_plan(conn: Connection, run_pk: int) -> None:
    """The run is planned whole in the scheduler's next loop (if it is running then)."""
    conn.execute(insert(run_plan_request).values(run_pk=run_pk, requested_at=utcnow()))


def request_plans_of_dag(conn: Connection, dag_id: str) -> None:
    """Every running run of the DAG is planned whole in the scheduler's next loop."""
    _request_from(
        conn,
        select(dag_run.c.id, _now()).where(
            dag_run.c.dag_id == dag_id, dag_run.c.state == RunState.RUNNING.value
        ),
    )


def request_plan_of_next_run(conn: Connection, run: RunRow) -> None:
    """The DAG's run after ``run`` (by logical date) is planned whole: its ``depends_on_past``
    tasks look at ``run``'s."""
    _request_from(
        conn,
        select(dag_run.c.id, _now())
        .where(dag_run.c.dag_id == run.dag_id, dag_run.c.logical_date > run.logical_date)
        .order_by(dag_run.c.logical_date)
        .limit(1),
    )


def pending(conn: Connection) -> dict[int, list[int]]:
    """The requests made so far: their ids by run."""
    found: dict[int, list[int]] = {}
    for row in conn.execute(select(_REQUEST.id, _REQUEST.run_pk)):
        found.setdefault(row.run_pk, []).append(row.id)
    return found


def met(conn: Connection, request_ids: Iterable[int]) -> None:
    """These requests are met (their run was planned, or is not running any more)."""
    ids = list(request_ids)
    for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
        conn.execute(delete(run_plan_request).where(_REQUEST.id.in_(ids[start : start + 500])))


def _now() -> ColumnElement[datetime]:
    return literal(utcnow(), UtcDateTime())


def _request_from(conn: Connection, rows: Select[Any]) -> None:
    conn.execute(insert(run_plan_request).from_select(["run_pk", "requested_at"], rows))
