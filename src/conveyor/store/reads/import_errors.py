"""Import errors with the DAGs their files defined when they last loaded, so that an error
is shown only to whoever may see those DAGs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.store.tables import dag_file, import_error


@dataclass(frozen=True)
class FileError:
    fileloc: str
    line: int | None
    message: str
    traceback: str | None
    created_at: datetime
    dag_ids: tuple[str, ...]  # what the file defined at its last good load (may be none)


def file_errors(conn: Connection) -> list[FileError]:
    """Every import error, by file, with the DAG ids its file last defined."""
    rows = conn.execute(
        select(import_error, dag_file.c.dag_ids)
        .outerjoin(dag_file, dag_file.c.fileloc == import_error.c.fileloc)
        .order_by(import_error.c.fileloc)
    )
    return [
        FileError(r.fileloc, r.line, r.message, r.traceback, r.created_at, tuple(r.dag_ids or ()))
        for r in rows
    ]
