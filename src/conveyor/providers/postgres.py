"""PostgreSQL: ``PostgresHook`` and ``PostgresOperator``, as Airflow's postgres provider.

The driver is psycopg 3, which Conveyor itself runs on (no extra needed); Airflow's provider
uses it too when psycopg2 is absent. ``get_conn`` is a psycopg connection, rows are tuples
(or dicts / named tuples with the connection extra ``cursor``), and ``copy_expert`` runs
``COPY ... FROM STDIN`` / ``TO STDOUT`` with a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import psycopg
from psycopg import rows as psycopg_rows
from psycopg.types.json import Json

from conveyor.connections import Connection
from conveyor.exceptions import TaskError
from conveyor.providers._hook import HookNames
from conveyor.providers.dbapi import DbApiHook, cursor_choice, url_authority
from conveyor.providers.openlineage.sql import DatabaseInfo, authority_of
from conveyor.providers.sql_operators import SQLExecuteQueryOperator


def _quote_all(text: str) -> str:
    """``text`` escaped for a URL, ``/`` too (a space as ``%20``, not ``+``)."""
    return quote(text, safe="")


#: The connection extra ``cursor``: what each row is.
_ROW_FACTORIES = {
    "dictcursor": psycopg_rows.dict_row,
    "realdictcursor": psycopg_rows.dict_row,
    "namedtuplecursor": psycopg_rows.namedtuple_row,
}
#: Extra keys that configure the hook, not the server connection.
_NOT_CONNECT_ARGS = frozenset(
    {"cursor", "sqlalchemy_scheme", "sqlalchemy_query", "iam", "redshift", "aws_conn_id"}
)


class PostgresHook(DbApiHook):
    """A PostgreSQL database: ``PostgresHook(postgres_conn_id="...", database=...)``.

    ``database`` (Airflow's older spelling: ``schema``) overrides the connection's database;
    ``options`` is sent as the server's command-line options (``-c search_path=...``).
    """

    names = HookNames("postgres_conn_id", "postgres_default", "postgres", "Postgres")
    supports_autocommit: ClassVar[bool] = True
    supports_executemany: ClassVar[bool] = True

    def __init__(
        self,
        *args: Any,
        options: str | None = None,
        database: str | None = None,
        schema: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.database = database or schema
        self.options = options

    def _database(self, conn: Connection) -> str | None:
        return self.database or conn.schema

    def _connect(self, conn: Connection) -> Any:
        args: dict[str, Any] = {
            "host": conn.host,
            "user": conn.login,
            "password": conn.password,
            "dbname": self._database(conn),
            "port": conn.port,
        }
        if self.options:
            args["options"] = self.options
        args.update({k: v for k, v in conn.extra_dejson.items() if k not in _NOT_CONNECT_ARGS})
        row_factory = cursor_choice(conn, _ROW_FACTORIES)
        if row_factory is not None:
            args["row_factory"] = row_factory
        args.setdefault("connect_timeout", 10)
        return psycopg.connect(**{k: v for k, v in args.items() if v is not None})

    def get_openlineage_database_info(self, connection: Connection) -> Any:
        """``postgres://host:port``; tables named ``database.schema.table``."""
        return DatabaseInfo(
            scheme="postgres",
            authority=authority_of(connection.host, connection.port, 5432),
            database=self._database(connection),
        )

    def get_openlineage_database_dialect(self, connection: Connection) -> str:
        return "postgres"

    def get_openlineage_default_schema(self) -> str | None:
        """The session's ``CURRENT_SCHEMA`` (the connection's ``search_path`` decides)."""
        found = self.get_first("SELECT CURRENT_SCHEMA;")
        return None if found is None else str(found[0])

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (psycopg.OperationalError,)

    def get_uri(self) -> str:
        """``postgresql+psycopg://login:password@host:port/database``: SQLAlchemy's URL for
        the driver installed (``sqlalchemy_scheme`` in the extra overrides the scheme)."""
        conn = self.connection
        scheme = conn.extra_dejson.get("sqlalchemy_scheme") or "postgresql+psycopg"
        database = self._database(conn)
        authority = url_authority(conn, default_host="", quote=_quote_all)
        uri = f"{scheme}://{authority}/{_quote_all(database) if database else ''}"
        query = conn.extra_dejson.get("sqlalchemy_query")
        if isinstance(query, dict) and query:
            uri += "?" + urlencode(query)
        return uri

    @staticmethod
    def _serialize_cell(cell: Any, conn: Any = None) -> Any:
        """Values go to psycopg as they are; dicts and lists as JSON."""
        if isinstance(cell, dict | list):
            return Json(cell)
        return cell

    def _replace_statement(
        self, table: str, width: int, target_fields: Iterable[str] | None, **kwargs: Any
    ) -> str:
        """``INSERT ... ON CONFLICT (replace_index) DO UPDATE``: Airflow's upsert."""
        fields = list(target_fields or [])
        index = kwargs.get("replace_index")
        if not fields or not index:
            raise TaskError(
                "PostgresHook.insert_rows(replace=True) needs target_fields and replace_index "
                "(the column or columns of the unique key)"
            )
        keys = [index] if isinstance(index, str) else list(index)
        updates = ", ".join(f"{f} = excluded.{f}" for f in fields if f not in keys)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        insert = self._insert_statement(table, width, fields)
        return f"{insert} ON CONFLICT ({', '.join(keys)}) {action}"

    def copy_expert(self, sql: str, filename: str) -> None:
        """Run ``COPY ... FROM STDIN`` reading ``filename`` (an empty file is made when it is
        missing, as Airflow does), or ``COPY ... TO STDOUT`` writing it."""
        self.log.info("Running copy expert: %s, filename: %s", sql, filename)
        loading = " from stdin" in sql.lower()
        if loading and not os.path.isfile(filename):
            open(filename, "w").close()
        with open(filename, "rb" if loading else "wb") as file, self.get_conn() as conn:
            with conn.cursor() as cursor, cursor.copy(sql) as copy:
                if loading:
                    while data := file.read(65536):
                        copy.write(data)
                else:
                    for data in copy:
                        file.write(data)
            conn.commit()

    def bulk_load(self, table: str, tmp_file: str) -> None:
        """Load a tab-separated file into ``table``."""
        self.copy_expert(f"COPY {table} FROM STDIN", tmp_file)

    def bulk_dump(self, table: str, tmp_file: str) -> None:
        """Write ``table`` to a tab-separated file."""
        self.copy_expert(f"COPY {table} TO STDOUT", tmp_file)

    def get_table_primary_key(self, table: str, schema: str | None = "public") -> list[str] | None:
        """The columns of ``table``'s primary key in their order, None when it has none."""
        rows = self.get_records(_PRIMARY_KEY, parameters=(schema, table))
        return [row[0] for row in rows] or None


#: The columns of a table's primary key, in the key's order.
_PRIMARY_KEY = """
SELECT kcu.column_name
FROM information_schema.table_constraints AS tc
JOIN information_schema.key_column_usage AS kcu
  ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = %s AND tc.table_name = %s
ORDER BY kcu.ordinal_position
"""


class PostgresOperator(SQLExecuteQueryOperator):
    """Airflow's ``PostgresOperator``: SQL on ``postgres_conn_id`` (``database`` overrides
    the connection's database; ``runtime_parameters`` become ``SET`` options)."""

    def __init__(
        self,
        *args: Any,
        postgres_conn_id: str = "postgres_default",
        database: str | None = None,
        runtime_parameters: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        hook_params = dict(kwargs.pop("hook_params", None) or {})
        if runtime_parameters:
            options = " ".join(f"-c {k}={v}" for k, v in runtime_parameters.items())
            hook_params["options"] = options
        kwargs.setdefault("conn_id", postgres_conn_id)
        super().__init__(*args, database=database, hook_params=hook_params, **kwargs)
