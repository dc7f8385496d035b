"""What the resources tied to DAGs (event log, import errors, assets, backfills, sources)
hide from a caller: the DAGs :func:`access.visible_dag_ids` leaves out, as SQL filters take
them. Nothing to hide (a user who sees every DAG) costs no query."""

from __future__ import annotations

from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.web.airflow_api.access import READ, sees_every_dag, visible_dag_ids
from conveyor.web.auth import User


def hidden_dag_ids(conn: Connection, user: User, action: str = READ) -> set[str]:
    """The DAGs the store knows that ``user`` may not see (or act on)."""
    if sees_every_dag(user, action):
        return set()
    known = [row.dag_id for row in dag_reads.list_dag_rows(conn, include_inactive=True)]
    return set(known) - set(visible_dag_ids(user, known, action))
