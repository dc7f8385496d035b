"""MySQL and MariaDB: ``MySqlHook`` and ``MySqlOperator``, as Airflow's mysql provider.

The driver is PyMySQL (the extra ``conveyor[mysql]``): pure Python, so it installs anywhere
without a compiler or the MySQL client headers that mysqlclient needs. Its cursors give
what mysqlclient's give: ``get_records`` is a tuple of row tuples, as Airflow's MySqlHook
returns with mysqlclient. As mysqlclient does by default, one string may hold several
statements (``DELETE ...; INSERT ...;``): ``run`` gives the handler the first statement's
result, as mysqlclient's cursor does, then reads the others', so an error in any of them
fails the run. The connection extras Airflow reads are honoured: ``charset``,
``cursor`` (``sscursor``, ``dictcursor``, ``ssdictcursor``), ``ssl``, ``unix_socket``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import quote_plus, urlencode

from conveyor.connections import Connection
from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames
from conveyor.providers.dbapi import DbApiHook, cursor_choice, url_authority
from conveyor.providers.openlineage.sql import DatabaseInfo, authority_of
from conveyor.providers.sql_operators import SQLExecuteQueryOperator

pymysql = load("pymysql", "mysql", "mysql")

_CURSORS = {
    "sscursor": pymysql.cursors.SSCursor,
    "dictcursor": pymysql.cursors.DictCursor,
    "ssdictcursor": pymysql.cursors.SSDictCursor,
}
#: A table name ``bulk_load`` / ``bulk_dump`` put into their statement.
_TABLE = re.compile(r"[A-Za-z0-9_.]+")


class MySqlHook(DbApiHook):
    """A MySQL or MariaDB database: ``MySqlHook(mysql_conn_id="...", schema=...)``;
    ``schema`` overrides the connection's database."""

    names = HookNames("mysql_conn_id", "mysql_default", "mysql", "MySQL")
    supports_autocommit: ClassVar[bool] = True

    def __init__(
        self,
        *args: Any,
        schema: str | None = None,
        local_infile: bool = False,
        init_command: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, schema=schema, **kwargs)
        self.local_infile = local_infile
        self.init_command = init_command

    def _connect_args(self, conn: Connection) -> dict[str, Any]:
        extra = conn.extra_dejson
        args: dict[str, Any] = {
            "user": conn.login,
            "password": conn.password or "",
            "host": conn.host or "localhost",
            "database": self.schema or conn.schema or None,
            "port": int(conn.port) if conn.port else 3306,
            "connect_timeout": 10,
            # Several statements in one string (``DELETE ...; INSERT ...;``), as mysqlclient,
            # Airflow's default MySQL driver, allows by default.
            "client_flag": pymysql.constants.CLIENT.MULTI_STATEMENTS,
        }
        if extra.get("charset"):
            args["charset"] = extra["charset"]
        cursor_class = cursor_choice(conn, _CURSORS)
        if cursor_class is not None:
            args["cursorclass"] = cursor_class
        if extra.get("ssl"):
            ssl = extra["ssl"]
            args["ssl"] = json.loads(ssl) if isinstance(ssl, str) else ssl
        if extra.get("unix_socket"):
            args["unix_socket"] = extra["unix_socket"]
        if self.local_infile or extra.get("local_infile"):
            args["local_infile"] = True
        if self.init_command:
            args["init_command"] = self.init_command
        return args

    def _connect(self, conn: Connection) -> Any:
        return pymysql.connect(**self._connect_args(conn))

    def cancel(self) -> None:
        """``KILL QUERY`` of the running statement's session, over a connection of its own."""
        running = self._running
        if running is None:
            return
        try:
            killer = self.get_conn()
            try:
                with killer.cursor() as cursor:
                    cursor.execute(f"KILL QUERY {int(running.thread_id())}")
            finally:
                killer.close()
        except Exception as exc:
            self.log.info("could not cancel the running statement: %s", exc)

    def get_openlineage_database_info(self, connection: Connection) -> Any:
        """``mysql://host:port``; tables named ``schema.table`` (a database is a schema)."""
        return DatabaseInfo(
            scheme="mysql",
            authority=authority_of(connection.host, connection.port, 3306),
            information_schema_columns=(
                "table_schema", "table_name", "column_name", "ordinal_position", "column_type",
            ),
        )  # fmt: skip

    def get_openlineage_database_dialect(self, connection: Connection) -> str:
        return "mysql"

    def get_openlineage_default_schema(self) -> str | None:
        return self.schema or self.connection.schema or None

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (pymysql.err.OperationalError, pymysql.err.InternalError)

    def _finish_statement(self, cursor: Any) -> None:
        """Read the results of the string's other statements: their errors fail the run
        (not the next command), and their changes are done before the commit."""
        while cursor.nextset():
            count = getattr(cursor, "rowcount", None)
            if isinstance(count, int) and count >= 0:
                self.log.info("Rows affected: %s", count)

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        conn.autocommit(autocommit)  # a method on PyMySQL's (and mysqlclient's) connections

    def get_autocommit(self, conn: Any) -> bool:
        return bool(conn.get_autocommit())

    def get_uri(self) -> str:
        """``mysql+pymysql://login:password@host:port/schema``: SQLAlchemy's URL for the
        driver installed, extras (but ``cursor``) as query parameters."""
        conn = self.connection
        schema = self.schema or conn.schema or ""
        uri = f"mysql+pymysql://{url_authority(conn)}" + (
            f"/{quote_plus(schema)}" if schema else ""
        )
        query = {
            k: v
            for k, v in conn.extra_dejson.items()
            if k in ("charset", "unix_socket") and isinstance(v, str)
        }
        return uri + ("?" + urlencode(query) if query else "")

    @staticmethod
    def _serialize_cell(cell: Any, conn: Any = None) -> Any:
        """Values go to PyMySQL as they are: it writes each as a literal itself."""
        return cell

    def _replace_statement(
        self, table: str, width: int, target_fields: Iterable[str] | None, **kwargs: Any
    ) -> str:
        return "REPLACE" + self._insert_statement(table, width, target_fields)[len("INSERT") :]

    def _checked_table(self, table: str) -> str:
        if not _TABLE.fullmatch(table):
            raise ValueError(f"Invalid table name: {table}")
        return table

    def bulk_load(self, table: str, tmp_file: str) -> None:
        """``LOAD DATA LOCAL INFILE``: a tab-separated file into ``table`` (the server must
        allow ``local_infile``; the hook asks for it)."""
        self.local_infile = True
        self._execute_and_commit(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{self._checked_table(table)}`", tmp_file
        )

    def bulk_dump(self, table: str, tmp_file: str) -> None:
        """``SELECT ... INTO OUTFILE``: the server writes ``table`` to a file on its host."""
        self._execute_and_commit(
            f"SELECT * INTO OUTFILE %s FROM `{self._checked_table(table)}`", tmp_file
        )

    def _execute_and_commit(self, statement: str, path: str) -> None:
        conn = self.get_conn()
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, (path,))
            conn.commit()
        finally:
            conn.close()


class MySqlOperator(SQLExecuteQueryOperator):
    """Airflow's ``MySqlOperator``: SQL on ``mysql_conn_id`` (``database`` overrides the
    connection's schema)."""

    def __init__(self, *args: Any, mysql_conn_id: str = "mysql_default", **kwargs: Any) -> None:
        kwargs.setdefault("conn_id", mysql_conn_id)
        super().__init__(*args, **kwargs)
