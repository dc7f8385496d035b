"""Asking the DAG file processor to parse a file now (table ``dag_parse_request``).

The web server asks (``PUT /api/v2/parseDagFile``); the processor of each scheduler reads
the requests at its scan, parses those files as if they had changed, and deletes the ones it
read. Asking twice before a scan is one request; a request made after the read waits for the
next scan.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from conveyor.clock import utcnow
from conveyor.store.tables import dag_parse_request

_REQUEST = dag_parse_request.c


def request_parse(conn: Connection, fileloc: str) -> None:
    """The file is parsed at the processor's next scan."""
    now = utcnow()
    changed = conn.execute(
        update(dag_parse_request).where(_REQUEST.fileloc == fileloc).values(requested_at=now)
    ).rowcount
    if not changed:
        conn.execute(dag_parse_request.insert().values(fileloc=fileloc, requested_at=now))


def take_requests(conn: Connection) -> list[str]:
    """The files asked for, each once; their requests are deleted."""
    rows = conn.execute(select(_REQUEST.fileloc, _REQUEST.requested_at)).all()
    for row in rows:
        conn.execute(
            delete(dag_parse_request).where(
                _REQUEST.fileloc == row.fileloc, _REQUEST.requested_at == row.requested_at
            )
        )
    return sorted(row.fileloc for row in rows)


def pending_requests(conn: Connection) -> list[str]:
    """The files asked for and not yet taken (for tests and the CLI)."""
    return sorted(conn.execute(select(_REQUEST.fileloc)).scalars())
