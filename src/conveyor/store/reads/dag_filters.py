"""Which DAGs Airflow's filters of the DAG list keep, each read as one set of DAG ids:
those whose file fails to load, those with a run in a state, those whose newest run's
dates are in a range."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from conveyor.store.tables import dag, dag_run, import_error

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
}


def with_import_errors(conn: Connection) -> set[str]:
    """The DAGs whose file fails to load now (the DAG keeps its last version that loaded)."""
    query = select(dag.c.dag_id).join(import_error, import_error.c.fileloc == dag.c.fileloc)
    return set(conn.execute(query).scalars())


def with_run_in_states(conn: Connection, states: Sequence[str]) -> set[str]:
    """The DAGs with at least one run in one of ``states``."""
    query = select(dag_run.c.dag_id).where(dag_run.c.state.in_(states)).distinct()
    return set(conn.execute(query).scalars())


def newest_run_within(conn: Connection, bounds: Mapping[str, datetime]) -> set[str]:
    """The DAGs whose newest run (the last made) has its dates within ``bounds``: keys
    ``start_date_gte``, ``end_date_lt`` ... (a date not set is within none)."""
    newest = (
        select(func.max(dag_run.c.id).label("id")).group_by(dag_run.c.dag_id).subquery("newest")
    )
    query = select(dag_run.c.dag_id).join(newest, newest.c.id == dag_run.c.id)
    for name, bound in bounds.items():
        column, _, op = name.rpartition("_")
        query = query.where(_OPS[op](dag_run.c[column], bound))
    return set(conn.execute(query).scalars())
