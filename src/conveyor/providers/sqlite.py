"""SQLite files: ``SqliteHook`` and ``SqliteOperator``, as Airflow's sqlite provider.

The driver is the standard library's sqlite3. The connection (type ``sqlite``) holds the
file's path in its host (as a URI ``sqlite://%2Fdata%2Fapp.db``, the path URL-encoded, as
Airflow reads it; a relative path is the worker's current folder's; no path is refused);
extras become the SQLite URI's query
(``{"mode": "ro"}``), as in Airflow, which opens ``file:<path>?<extras>``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import urlencode

from conveyor.connections import Connection
from conveyor.exceptions import TaskError
from conveyor.providers._hook import HookNames
from conveyor.providers.dbapi import DbApiHook
from conveyor.providers.openlineage.sql import DatabaseInfo
from conveyor.providers.sql_operators import SQLExecuteQueryOperator


class SqliteHook(DbApiHook):
    """A SQLite database file: ``SqliteHook(sqlite_conn_id="...")``."""

    names = HookNames("sqlite_conn_id", "sqlite_default", "sqlite", "Sqlite")
    placeholder: ClassVar[str] = "?"

    def _path_and_query(self, conn: Connection) -> tuple[str, str]:
        if not conn.host:
            # sqlite3 would open a private temporary database: nothing the DAG meant.
            raise TaskError(
                f"sqlite connection {conn.conn_id!r} has no file path in its host: write "
                "sqlite://%2Fdata%2Fapp.db (the path URL-encoded, as Airflow reads it) or "
                'the JSON form {"conn_type": "sqlite", "host": "/data/app.db"}'
            )
        query = urlencode({k: str(v) for k, v in conn.extra_dejson.items() if v is not None})
        return conn.host, f"?{query}" if query else ""

    def _connect(self, conn: Connection) -> Any:
        path, query = self._path_and_query(conn)
        return sqlite3.connect(f"file:{path}{query}", uri=True)

    def get_openlineage_database_info(self, connection: Connection) -> Any:
        """``sqlite://<file path>``; tables named ``main.table``. SQLite has no
        ``information_schema``: no columns are read."""
        path, _query = self._path_and_query(connection)
        return DatabaseInfo(scheme="sqlite", authority=path, information_schema_columns=())

    def get_openlineage_database_dialect(self, connection: Connection) -> str:
        return "sqlite"

    def get_openlineage_default_schema(self) -> str | None:
        return "main"

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.OperationalError,)

    def get_uri(self) -> str:
        """``sqlite:///<path>``: SQLAlchemy's URL of the file (an absolute path gives four
        slashes)."""
        path, query = self._path_and_query(self.connection)
        return f"sqlite:///{path}{query}"

    def _replace_statement(
        self, table: str, width: int, target_fields: Iterable[str] | None, **kwargs: Any
    ) -> str:
        return "REPLACE" + self._insert_statement(table, width, target_fields)[len("INSERT") :]


class SqliteOperator(SQLExecuteQueryOperator):
    """Airflow's deprecated ``SqliteOperator``: SQL on ``sqlite_conn_id``."""

    def __init__(self, *args: Any, sqlite_conn_id: str = "sqlite_default", **kwargs: Any) -> None:
        kwargs.setdefault("conn_id", sqlite_conn_id)
        super().__init__(*args, **kwargs)
