"""Connection tests asked through ``POST /api/v2/connections/enqueue-test``: how each ended,
by the token its caller polls with. Kept a day: a caller polls within seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from conveyor.store.engine import Connection
from conveyor.store.tables import connection_test

#: How long a recorded test can be read back.
KEPT_FOR = timedelta(days=1)


@dataclass(frozen=True)
class ConnectionTestRow:
    token: str
    connection_id: str
    state: str  # success | failed
    result_message: str | None
    created_at: datetime


def record(conn: Connection, row: ConnectionTestRow) -> None:
    """Record a finished test, and forget those older than :data:`KEPT_FOR`."""
    conn.execute(
        delete(connection_test).where(connection_test.c.created_at < row.created_at - KEPT_FOR)
    )
    conn.execute(
        insert(connection_test).values(
            token=row.token,
            connection_id=row.connection_id,
            state=row.state,
            result_message=row.result_message,
            created_at=row.created_at,
        )
    )


def find(conn: Connection, token: str) -> ConnectionTestRow | None:
    found = conn.execute(select(connection_test).where(connection_test.c.token == token)).first()
    if found is None:
        return None
    return ConnectionTestRow(
        found.token, found.connection_id, found.state, found.result_message, found.created_at
    )
