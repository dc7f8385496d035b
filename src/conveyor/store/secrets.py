"""Connections and variables as the store holds them: passwords, extras and values encrypted.

Encrypting, decrypting and the environment's overrides are ``conveyor.connections``'s job;
this module only reads and writes the rows, ciphertext in and ciphertext out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Connection, delete, select

from conveyor.clock import utcnow
from conveyor.store.sql import upsert
from conveyor.store.tables import connection, variable


@dataclass(frozen=True)
class StoredConnection:
    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None  # encrypted
    schema: str | None
    extra: str | None  # encrypted JSON object
    description: str | None
    secret_fields: list[str] | None


@dataclass(frozen=True)
class StoredVariable:
    key: str
    value: str  # encrypted
    description: str | None
    is_secret: bool


def _stored_connection(row: Any) -> StoredConnection:
    return StoredConnection(**{f.name: getattr(row, f.name) for f in fields(StoredConnection)})


def put_connection(conn: Connection, row: StoredConnection) -> None:
    """Insert or replace a connection."""
    upsert(conn, connection, {**asdict(row), "updated_at": utcnow()}, key=["conn_id"])


def get_connection(conn: Connection, conn_id: str) -> StoredConnection | None:
    row = conn.execute(select(connection).where(connection.c.conn_id == conn_id)).first()
    return None if row is None else _stored_connection(row)


def list_connections(conn: Connection) -> list[StoredConnection]:
    """Every stored connection, by id."""
    rows = conn.execute(select(connection).order_by(connection.c.conn_id))
    return [_stored_connection(row) for row in rows]


def delete_connection(conn: Connection, conn_id: str) -> bool:
    """Delete a connection; whether there was one."""
    return conn.execute(delete(connection).where(connection.c.conn_id == conn_id)).rowcount == 1


def put_variable(conn: Connection, row: StoredVariable, *, keep_mark: bool = False) -> bool:
    """Insert or replace a variable; ``keep_mark`` leaves the secret mark of a variable that
    exists as it is (one statement, so no concurrent write can slip between a read and it).
    Returns the mark the row has now."""
    values = {
        "key": row.key,
        "value": row.value,
        "description": row.description,
        "updated_at": utcnow(),
        "is_secret": row.is_secret,
    }
    update = ("value", "description", "updated_at") if keep_mark else None
    upsert(conn, variable, values, key=["key"], update=update)
    mark = conn.execute(select(variable.c.is_secret).where(variable.c.key == row.key)).scalar()
    return bool(mark)


def get_variable(conn: Connection, key: str) -> StoredVariable | None:
    row = conn.execute(
        select(variable.c.value, variable.c.description, variable.c.is_secret).where(
            variable.c.key == key
        )
    ).first()
    return (
        None
        if row is None
        else StoredVariable(key, row.value, row.description, bool(row.is_secret))
    )


def list_variables(conn: Connection) -> list[StoredVariable]:
    """Every stored variable, by key."""
    rows = conn.execute(select(variable).order_by(variable.c.key))
    return [StoredVariable(r.key, r.value, r.description, bool(r.is_secret)) for r in rows]


def delete_variable(conn: Connection, key: str) -> bool:
    """Delete a variable; whether there was one."""
    return conn.execute(delete(variable).where(variable.c.key == key)).rowcount == 1
