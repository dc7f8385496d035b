"""Runs as they are listed and shown: every column a person reads, and paging."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from conveyor.exceptions import NotFoundError
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import dag_run, task_instance
from conveyor.strict_json import shown


@dataclass(frozen=True)
class RunListing:
    id: int
    dag_id: str
    run_id: str
    run_type: str
    state: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: dict[str, Any]
    created_by: str | None
    queued_at: datetime
    start_date: datetime | None
    end_date: datetime | None
    note: str | None
    user_note: str | None


def _filters(dag_id: str | None, state: str | None) -> list[ColumnElement[bool]]:
    where = []
    if dag_id is not None:
        where.append(dag_run.c.dag_id == dag_id)
    if state is not None:
        where.append(dag_run.c.state == state)
    return where


def count_runs(conn: Connection, *, dag_id: str | None = None, state: str | None = None) -> int:
    """How many runs match (``None``: any DAG, any state)."""
    query = select(func.count()).select_from(dag_run).where(*_filters(dag_id, state))
    return int(conn.execute(query).scalar_one())


def list_runs(
    conn: Connection,
    *,
    dag_id: str | None = None,
    state: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> list[RunListing]:
    """The runs that match, newest first."""
    rows = conn.execute(
        select(dag_run)
        .where(*_filters(dag_id, state))
        .order_by(dag_run.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_listing(r) for r in rows]


def latest_by_date(conn: Connection, dag_id: str, limit: int) -> list[RunListing]:
    """The DAG's ``limit`` runs of the latest logical dates, latest first (a backfilled run
    stands among the others by its date, not by when it was made)."""
    rows = conn.execute(
        select(dag_run)
        .where(dag_run.c.dag_id == dag_id)
        .order_by(dag_run.c.logical_date.desc(), dag_run.c.id.desc())
        .limit(limit)
    )
    return [_listing(r) for r in rows]


def get_run(conn: Connection, dag_id: str, run_id: str) -> RunListing:
    row = conn.execute(
        select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)
    ).first()
    if row is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}")
    return _listing(row)


def _listing(row: Any) -> RunListing:
    """A run as it is shown: a conf stored before strict JSON has its bad parts marked, so
    the lists and pages that hold it still answer."""
    found = row_as(RunListing, row)
    conf = shown(found.conf)
    return found if conf is found.conf else replace(found, conf=conf)


def latest_run_pk(conn: Connection, dag_id: str) -> int | None:
    """The newest run of the DAG, if it has any."""
    query = (
        select(dag_run.c.id)
        .where(dag_run.c.dag_id == dag_id)
        .order_by(dag_run.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def task_state_counts(conn: Connection, run_pk: int) -> dict[str, int]:
    """How many of the run's task instances are in each state (states with none left out)."""
    rows = conn.execute(
        select(task_instance.c.state, func.count())
        .where(task_instance.c.run_pk == run_pk)
        .group_by(task_instance.c.state)
    )
    return {state: n for state, n in rows}
