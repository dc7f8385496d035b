"""The DAG files as last parsed: when, how long it took, and which DAGs each defines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from conveyor.exceptions import ConveyorError
from conveyor.store.engine import Store
from conveyor.store.reads.dags import active_fileloc
from conveyor.store.tables import dag, dag_file


@dataclass(frozen=True)
class DagFileStats:
    fileloc: str
    parsed_at: datetime
    parse_seconds: float | None
    #: (dag_id, version_hash) of each DAG the file defines now, by id.
    dags: list[tuple[str, str]]


def file_stats(conn: Connection) -> list[DagFileStats]:
    """Every DAG file the store knows, slowest parse first (``conveyor dags report``)."""
    files = conn.execute(select(dag_file)).all()
    active = conn.execute(
        select(dag.c.dag_id, dag.c.fileloc, dag.c.version_hash).where(dag.c.is_active.is_(True))
    ).all()
    by_file: dict[str, list[tuple[str, str]]] = {}
    for row in active:
        by_file.setdefault(row.fileloc, []).append((row.dag_id, row.version_hash))
    found = [
        DagFileStats(f.fileloc, f.parsed_at, f.parse_seconds, sorted(by_file.get(f.fileloc, [])))
        for f in files
    ]
    return sorted(found, key=lambda s: (-(s.parse_seconds or 0.0), s.fileloc))


def parsed_times(conn: Connection, filelocs: Iterable[str]) -> dict[str, datetime]:
    """When each of these DAG files was last parsed (a file never parsed is absent)."""
    wanted = sorted(set(filelocs))
    if not wanted:
        return {}
    rows = conn.execute(
        select(dag_file.c.fileloc, dag_file.c.parsed_at).where(dag_file.c.fileloc.in_(wanted))
    ).all()
    return {row.fileloc: row.parsed_at for row in rows}


def defining_file(db_url: str, dag_id: str) -> str | None:
    """The file that the store at ``db_url`` says defines ``dag_id`` now; None when it does
    not know the DAG, cannot be read, or does not exist yet (it is not created here: a
    command that only reads must not leave a new SQLite file behind)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return None
    store = Store(db_url)
    try:
        with store.read() as conn:
            return active_fileloc(conn, dag_id)
    except (SQLAlchemyError, ConveyorError):  # no schema yet, unreachable: scan the folder
        return None
    finally:
        store.dispose()
