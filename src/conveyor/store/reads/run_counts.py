"""How many runs each DAG has in each state (``GET /api/v2/dagStats``)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, select

from conveyor.store.tables import dag_run


def runs_by_dag_and_state(
    conn: Connection, dag_ids: Collection[str] | None = None
) -> dict[str, dict[str, int]]:
    """dag_id -> state -> runs, for the DAGs that have runs (of ``dag_ids`` only, if given);
    states with no run are absent."""
    query = select(dag_run.c.dag_id, dag_run.c.state, func.count())
    if dag_ids is not None:
        query = query.where(dag_run.c.dag_id.in_(sorted(dag_ids)))
    query = query.group_by(dag_run.c.dag_id, dag_run.c.state)
    found: dict[str, dict[str, int]] = {}
    for dag_id, state, count in conn.execute(query):
        found.setdefault(str(dag_id), {})[str(state)] = int(count)
    return found
