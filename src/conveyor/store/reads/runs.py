"""Runs as they are listed and shown: every column a person reads, and paging."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Table, func, select

from conveyor.store.reads._rows import description, row_as
from conveyor.store.runs import run_by_key
from conveyor.store.tables import dag_run, task_instance
from conveyor.strict_json import shown


@dataclass(frozen=True)
class RunListing:
    """A run as it is shown: the one row type of a run, which ``/api/v1`` (the UI, the CLI)
    and ``/api/v2`` show under their names (``web/row_shapes.py``)."""

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
    note: str | None = field(metadata=description("the system's reason for the run's state"))
    user_note: str | None = field(metadata=description("the note a person wrote on the run"))
    version_hash: str = field(
        metadata=description("the DAG version the run is pinned to (see /dags/{dag_id}/versions)")
    )
    updated_at: datetime | None = None  # the last change of its row (migration 0026)
    partition_key: str | None = field(  # migration 0034
        default=None,
        metadata=description(
            "the partition of data the run is for (Airflow 3.2's asset partitions)"
        ),
    )
    partition_date: datetime | None = None  # the moment that partition starts (migration 0035)


@dataclass(frozen=True)
class Window:
    """A date range on a run's or a task instance's dates (each bound optional, inclusive)."""

    logical_date_gte: datetime | None = None
    logical_date_lte: datetime | None = None
    start_date_gte: datetime | None = None
    start_date_lte: datetime | None = None
    end_date_gte: datetime | None = None
    end_date_lte: datetime | None = None
    updated_at_gte: datetime | None = None
    updated_at_lte: datetime | None = None


@dataclass(frozen=True)
class RunFilter:
    """What a list of runs keeps: one DAG or a part of its id, some states, a window."""

    dag_id: str | None = None
    dag_id_pattern: str | None = None  # a part of the id, any case
    states: tuple[str, ...] = ()
    window: Window = Window()
    dag_ids: frozenset[str] | None = None  # only these DAGs (those the user may read)
    # scheduled, manual, backfill, dataset_triggered, asset_materialize
    run_types: tuple[str, ...] = ()


#: How a list of runs may be ordered ("-" first: newest or largest first).
RUN_ORDERS = ("id", "logical_date", "start_date", "end_date", "dag_id")


def window_filters(
    window: Window, columns: Mapping[str, ColumnElement[Any]]
) -> list[ColumnElement[bool]]:
    """``column >= bound`` and ``column <= bound`` for each bound of ``window`` that is set;
    ``columns`` maps logical_date, start_date and end_date to the columns they mean."""
    where: list[ColumnElement[bool]] = []
    for name, column in columns.items():
        low = getattr(window, f"{name}_gte")
        high = getattr(window, f"{name}_lte")
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    return where


def id_part(column: ColumnElement[Any], part: str) -> ColumnElement[bool]:
    """``column`` contains ``part``, any case; ``%`` and ``_`` in it are plain characters."""
    return func.lower(column).contains(part.lower(), autoescape=True)


class ListFilter(Protocol):
    """What lists of runs and of task instances both filter on."""

    @property
    def dag_id(self) -> str | None: ...
    @property
    def dag_id_pattern(self) -> str | None: ...
    @property
    def states(self) -> tuple[str, ...]: ...
    @property
    def window(self) -> Window: ...
    @property
    def dag_ids(self) -> frozenset[str] | None: ...


def list_filters(
    where: ListFilter, table: Table, logical_date: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    """The rows of ``table`` (runs or task instances) of the DAG, or of DAGs whose id holds
    the pattern, in the states, with dates in the window (``logical_date``: the run's)."""
    found = []
    if where.dag_id is not None:
        found.append(table.c.dag_id == where.dag_id)
    if where.dag_id_pattern:
        found.append(id_part(table.c.dag_id, where.dag_id_pattern))
    if where.dag_ids is not None:
        found.append(table.c.dag_id.in_(sorted(where.dag_ids)))
    if where.states:
        found.append(table.c.state.in_(where.states))
    dates = {
        "logical_date": logical_date,
        "start_date": table.c.start_date,
        "end_date": table.c.end_date,
        "updated_at": table.c.updated_at,
    }
    return found + window_filters(where.window, dates)


def _filters(where: RunFilter) -> list[ColumnElement[bool]]:
    found = list_filters(where, dag_run, dag_run.c.logical_date)
    if where.run_types:
        found.append(dag_run.c.run_type.in_(where.run_types))
    return found


def _where(dag_id: str | None, state: str | None, where: RunFilter | None) -> RunFilter:
    where = where or RunFilter()
    if dag_id is not None:
        where = replace(where, dag_id=dag_id)
    if state is not None:
        where = replace(where, states=(state,))
    return where


def order_by(column: ColumnElement[Any], descending: bool) -> ColumnElement[Any]:
    """Descending with empty dates last, ascending with them first, on both stores."""
    return column.desc().nulls_last() if descending else column.asc().nulls_first()


def count_runs(
    conn: Connection,
    *,
    dag_id: str | None = None,
    state: str | None = None,
    where: RunFilter | None = None,
) -> int:
    """How many runs match (``None``: any DAG, any state)."""
    query = select(func.count()).select_from(dag_run).where(*_filters(_where(dag_id, state, where)))
    return int(conn.execute(query).scalar_one())


def list_runs(
    conn: Connection,
    *,
    dag_id: str | None = None,
    state: str | None = None,
    limit: int = 25,
    offset: int = 0,
    where: RunFilter | None = None,
    order: str = "-id",
) -> list[RunListing]:
    """The runs that match, newest first (or in ``order``: a name of :data:`RUN_ORDERS`,
    ``-`` first for descending)."""
    name = order.lstrip("-")
    if name not in RUN_ORDERS:
        raise ValueError(f"cannot order runs by {order!r}")
    rows = conn.execute(
        select(dag_run)
        .where(*_filters(_where(dag_id, state, where)))
        .order_by(order_by(dag_run.c[name], order.startswith("-")), dag_run.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_listing(r) for r in rows]


def latest_by_date(
    conn: Connection,
    dag_id: str,
    limit: int,
    before: datetime | None = None,
    after: datetime | None = None,
) -> list[RunListing]:
    """The DAG's ``limit`` runs of the latest logical dates, latest first (a backfilled run
    stands among the others by its date, not by when it was made). ``before``: only runs
    dated earlier (the page before); ``after``: the ``limit`` runs dated next after it."""
    query = select(dag_run).where(dag_run.c.dag_id == dag_id)
    if before is not None:
        query = query.where(dag_run.c.logical_date < before)
    if after is not None:
        query = query.where(dag_run.c.logical_date > after)
        ascending = query.order_by(dag_run.c.logical_date, dag_run.c.id).limit(limit)
        return [_listing(r) for r in conn.execute(ascending)][::-1]
    rows = conn.execute(
        query.order_by(dag_run.c.logical_date.desc(), dag_run.c.id.desc()).limit(limit)
    )
    return [_listing(r) for r in rows]


def has_run_dated(
    conn: Connection,
    dag_id: str,
    before: datetime | None = None,
    after: datetime | None = None,
    inclusive: bool = False,
) -> bool:
    """Whether the DAG has a run dated before ``before`` (or after ``after``; ``inclusive``:
    or at that date)."""
    query = select(dag_run.c.id).where(dag_run.c.dag_id == dag_id)
    if before is not None:
        date = dag_run.c.logical_date
        query = query.where(date <= before if inclusive else date < before)
    if after is not None:
        date = dag_run.c.logical_date
        query = query.where(date >= after if inclusive else date > after)
    return conn.execute(query.limit(1)).first() is not None


def get_run(conn: Connection, dag_id: str, run_id: str) -> RunListing:
    return _listing(run_by_key(conn, dag_id, run_id))


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


def run_dated(conn: Connection, dag_id: str, logical_date: datetime) -> RunListing | None:
    """The DAG's run of that logical date (the newest, should there be several), if any."""
    row = conn.execute(
        select(dag_run)
        .where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date == logical_date)
        .order_by(dag_run.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _listing(row)
