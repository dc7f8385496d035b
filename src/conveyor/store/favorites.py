"""The DAGs each user marked as a favourite (``POST /api/v2/dags/{dag_id}/favorite``): a
preference of the user's own, gone with the user, and with the DAG's history."""

from __future__ import annotations

from sqlalchemy import delete, select

from conveyor.store.engine import Connection
from conveyor.store.tables import dag_favorite


def favorite_dag_ids(conn: Connection, username: str) -> set[str]:
    """The DAG ids ``username`` marked as favourites."""
    rows = conn.execute(select(dag_favorite.c.dag_id).where(dag_favorite.c.username == username))
    return set(rows.scalars())


def is_favorite(conn: Connection, username: str, dag_id: str) -> bool:
    found = conn.execute(
        select(dag_favorite.c.dag_id).where(
            dag_favorite.c.username == username, dag_favorite.c.dag_id == dag_id
        )
    ).first()
    return found is not None


def add(conn: Connection, username: str, dag_id: str) -> None:
    """Mark ``dag_id`` a favourite of ``username`` (the caller checked it is not yet)."""
    conn.execute(dag_favorite.insert().values(username=username, dag_id=dag_id))


def remove(conn: Connection, username: str, dag_id: str) -> bool:
    """Unmark it; whether it was marked."""
    gone = conn.execute(
        delete(dag_favorite).where(
            dag_favorite.c.username == username, dag_favorite.c.dag_id == dag_id
        )
    )
    return bool(gone.rowcount)


def forget_dag(conn: Connection, dag_id: str) -> None:
    """Every user's mark on ``dag_id`` (the DAG itself is gone)."""
    conn.execute(delete(dag_favorite).where(dag_favorite.c.dag_id == dag_id))
