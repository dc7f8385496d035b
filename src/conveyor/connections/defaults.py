"""The default connections ``POST /api/v2/connections/defaults`` creates, as Airflow creates
its own: the ids Conveyor's hooks and sensors read when a task names none, each pointing at
this machine (or, for the clouds, at the credentials of the environment), with no secret.

An existing connection of the same id, stored or set in the server's environment, is never
replaced: creating the defaults twice changes nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from conveyor.config import Settings
from conveyor.connections import repository
from conveyor.connections.models import Connection
from conveyor.store.engine import Store


def default_connections() -> list[Connection]:
    """Conveyor's default connections, by id."""
    sqlite_file = str(Path(tempfile.gettempdir()) / "sqlite_default.db")
    return [
        Connection("aws_default", "aws", description="credentials of the environment"),
        Connection("fs_default", "fs", extra={"path": "/"}),
        Connection(
            "google_cloud_default",
            "google_cloud_platform",
            description="credentials of the environment",
        ),
        Connection("mysql_default", "mysql", host="localhost", port=3306, login="root"),
        Connection(
            "postgres_default",
            "postgres",
            host="localhost",
            port=5432,
            login="postgres",
            schema="postgres",
        ),
        Connection("sftp_default", "sftp", host="localhost", port=22),
        Connection("smtp_default", "smtp", host="localhost", port=25),
        Connection("sqlite_default", "sqlite", host=sqlite_file),
        Connection("ssh_default", "ssh", host="localhost", port=22),
    ]


def create_defaults(store: Store, settings: Settings) -> list[str]:
    """Store each default connection whose id no connection has yet; their ids."""
    stored = repository.stored_connection_ids(store)
    created = []
    for conn in default_connections():
        if conn.conn_id in stored or repository.env_connection(conn.conn_id) is not None:
            continue
        repository.set_connection(store, settings, conn)
        created.append(conn.conn_id)
    return created
