"""``DbApiHook``: one hook for every database with a DB-API 2 driver, as Airflow's common.sql.

Subclasses say how to open a connection (``_connect``) and how their URI is written; this
class owns what DAG code calls: ``run`` (with ``parameters``, ``autocommit``, ``handler``,
``split_statements``, ``return_last``), ``get_records``, ``get_first``, ``insert_rows``,
``get_sqlalchemy_engine``, ``get_pandas_df``. Results are what the driver's cursor gives,
shaped by Airflow's rules (``handlers.return_single_query_results``), so code written for
Airflow's hooks reads the same values here.

A connection that cannot be opened (wrong host, wrong password, no such database) fails with
a ``DatabaseConnectionError`` that names the connection id and where it points, never the
password.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote_plus

from conveyor.connections import Connection
from conveyor.connections.masking import MASK
from conveyor.exceptions import TaskError
from conveyor.providers import handlers
from conveyor.providers._hook import HookNames, ProviderHook
from conveyor.providers._split import split_sql
from conveyor.providers.openlineage import hook_lineage

#: The placeholders a connection's extra may choose for ``insert_rows``.
_PLACEHOLDERS = ("%s", "?")
#: Parameters a statement is run with: a sequence for ``%s``, a mapping for ``%(name)s``.
Parameters = Iterable[Any] | Mapping[str, Any] | None


def cursor_choice(conn: Connection, choices: Mapping[str, Any]) -> Any:
    """What the connection's extra ``cursor`` names among ``choices`` (None without one); a
    name not among them fails, naming the connection and the names there are."""
    cursor = str(conn.extra_dejson.get("cursor", "")).lower()
    if not cursor:
        return None
    if cursor not in choices:
        raise TaskError(
            f"connection {conn.conn_id!r}: extra cursor={cursor!r} is not one of "
            f"{', '.join(sorted(choices))}"
        )
    return choices[cursor]


def url_authority(
    conn: Connection,
    *,
    default_host: str = "localhost",
    quote: Callable[[str], str] = quote_plus,
) -> str:
    """The ``login:password@host:port`` part of a SQLAlchemy URL of ``conn``: login and
    password escaped with ``quote``, each part left out when the connection has none."""
    auth = ""
    if conn.login:
        auth = quote(conn.login)
        if conn.password:
            auth += ":" + quote(conn.password)
        auth += "@"
    host = conn.host or default_host
    if conn.port:
        host += f":{conn.port}"
    return auth + host


class DatabaseConnectionError(TaskError):
    """A hook could not connect; the message names the connection, never its password."""


class DbApiHook(ProviderHook):
    """The base of the SQL hooks. ``DbApiHook(conn_id)``, or the subclass's keyword
    (``postgres_conn_id=``, ``mysql_conn_id=``) or ``conn_id=``; without one, the class's
    default connection (``postgres_default``, ...)."""

    names = HookNames("conn_id", "default_conn_id", "", "SQL")
    supports_autocommit: ClassVar[bool] = False
    supports_executemany: ClassVar[bool] = False
    #: How a value is marked in a statement the hook writes (``insert_rows``).
    placeholder: ClassVar[str] = "%s"
    #: Whether statements split from a script lose their ``;``.
    strip_semicolon: ClassVar[bool] = False

    def __init__(
        self, *args: Any, schema: str | None = None, log_sql: bool = True, **kwargs: Any
    ) -> None:
        conn_id = (
            args[0]
            if args
            else kwargs.pop(self.conn_name_attr, None)
            or kwargs.pop("conn_id", None)
            or self.default_conn_name
        )
        setattr(self, self.conn_name_attr, conn_id)
        self.schema = schema
        self.log_sql = log_sql
        #: The cursor descriptions of the statements the last ``run`` returned results of.
        self.descriptions: list[Any] = []
        self._connection: Connection | None = None
        #: The DB-API connection a ``run`` holds now, for :meth:`cancel` (the task's on_kill).
        self._running: Any = None

    # -- the connection --------------------------------------------------------------------

    def get_conn_id(self) -> str:
        return str(getattr(self, self.conn_name_attr))

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.get_connection(self.get_conn_id())
        return self._connection

    @connection.setter
    def connection(self, value: Connection) -> None:
        self._connection = value

    @property
    def connection_extra(self) -> dict[str, Any]:
        return self.connection.extra_dejson

    def _connect(self, conn: Connection) -> Any:
        """A new DB-API connection to ``conn``; each driver's hook implements it."""
        raise NotImplementedError(f"{type(self).__name__} does not open connections")

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        """The driver's errors that mean "could not connect"."""
        return ()

    def get_conn(self) -> Any:
        """A new DB-API connection (the caller closes it)."""
        conn = self.connection
        try:
            return self._connect(conn)
        except self._driver_errors() as exc:
            raise DatabaseConnectionError(self._describe_failure(conn, exc)) from None

    def _describe_failure(self, conn: Connection, exc: BaseException) -> str:
        detail = str(exc).strip() or type(exc).__name__
        if conn.password:
            detail = detail.replace(conn.password, MASK)
        where = f"{conn.login + '@' if conn.login else ''}{conn.host or 'localhost'}"
        if conn.port:
            where += f":{conn.port}"
        return (
            f"{self.hook_name} connection {conn.conn_id!r} ({conn.conn_type} at {where}) "
            f"could not connect: {detail}"
        )

    # -- OpenLineage: how the tables of this database are named (Airflow's methods) --------

    def get_openlineage_database_info(self, connection: Connection) -> Any:
        """The namespace and naming of this database's tables (an OpenLineage
        ``DatabaseInfo``), or None: the SQL operators then send no datasets."""
        return None

    def get_openlineage_database_dialect(self, connection: Connection) -> str:
        """The SQL parser's dialect for this database."""
        return "generic"

    def get_openlineage_default_schema(self) -> str | None:
        """The schema a table named without one is in."""
        return None

    def get_cursor(self) -> Any:
        return self.get_conn().cursor()

    def get_uri(self) -> str:
        """The connection as a SQLAlchemy URL (with the password)."""
        return self.connection.sqlalchemy_url()

    @property
    def sqlalchemy_url(self) -> Any:
        """:meth:`get_uri` as SQLAlchemy's ``URL`` object (Airflow's property)."""
        from sqlalchemy.engine import make_url

        return make_url(self.get_uri())

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Any:
        """A SQLAlchemy engine on :meth:`get_uri`."""
        import sqlalchemy

        return sqlalchemy.create_engine(self.get_uri(), **(engine_kwargs or {}))

    def get_pandas_df(self, sql: str, parameters: Parameters = None, **kwargs: Any) -> Any:
        """The query's result as a pandas DataFrame (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise TaskError(
                f"{type(self).__name__}.get_pandas_df needs pandas: pip install pandas"
            ) from None
        engine = self.get_sqlalchemy_engine()
        try:
            with engine.connect() as conn:
                return pandas.read_sql(sql, con=conn, params=parameters, **kwargs)
        finally:
            engine.dispose()

    def get_df(self, sql: str, parameters: Parameters = None, **kwargs: Any) -> Any:
        """Airflow's newer name: a pandas DataFrame (``df_type="pandas"``, the only one here)."""
        df_type = kwargs.pop("df_type", "pandas")
        if df_type != "pandas":
            raise TaskError(f"get_df(df_type={df_type!r}): Conveyor gives pandas DataFrames only")
        return self.get_pandas_df(sql, parameters, **kwargs)

    def test_connection(self) -> tuple[bool, str]:
        """``(True, message)`` when ``SELECT 1`` runs, else ``(False, the error)``."""
        try:
            self.get_first("SELECT 1")
        except Exception as exc:
            return False, str(exc)
        return True, "Connection successfully tested"

    # -- autocommit ------------------------------------------------------------------------

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        if autocommit and not self.supports_autocommit:
            self.log.warning(
                "%s connection doesn't support autocommit but autocommit activated.",
                self.get_conn_id(),
            )
        conn.autocommit = autocommit

    def get_autocommit(self, conn: Any) -> bool:
        return bool(getattr(conn, "autocommit", False)) and self.supports_autocommit

    @contextlib.contextmanager
    def _autocommit_connection(self, autocommit: bool) -> Iterator[Any]:
        conn = self.get_conn()
        self._running = conn
        try:
            if self.supports_autocommit:
                self.set_autocommit(conn, autocommit)
            yield conn
        finally:
            self._running = None
            conn.close()

    def cancel(self) -> None:
        """Cancel the statement a ``run`` is waiting for, where the driver can (psycopg's
        ``cancel()``; MySQL's hook sends ``KILL QUERY``): called by the operator's on_kill
        when the try is stopped. Never raises."""
        running = self._running
        cancel = getattr(running, "cancel", None)
        if cancel is None:
            return
        try:
            cancel()
        except Exception as exc:
            self.log.info("could not cancel the running statement: %s", exc)

    # -- running statements ----------------------------------------------------------------

    @staticmethod
    def strip_sql_string(sql: str) -> str:
        return sql.strip().rstrip(";")

    @staticmethod
    def split_sql_string(sql: str, strip_semicolon: bool = False) -> list[str]:
        """The statements of a script, comments dropped."""
        return split_sql(sql, strip_semicolon=strip_semicolon)

    @property
    def last_description(self) -> Any:
        return self.descriptions[-1] if self.descriptions else None

    def get_records(self, sql: str | list[str], parameters: Parameters = None) -> Any:
        """Every row of the query (for a list of statements, a list of row lists)."""
        return self.run(sql=sql, parameters=parameters, handler=handlers.fetch_all_handler)

    def get_first(self, sql: str | list[str], parameters: Parameters = None) -> Any:
        """The first row of the query, or None."""
        return self.run(sql=sql, parameters=parameters, handler=handlers.fetch_one_handler)

    def _statements(self, sql: str | Iterable[str], split_statements: bool) -> list[str]:
        if isinstance(sql, str):
            if split_statements:
                found = self.split_sql_string(sql, strip_semicolon=self.strip_semicolon)
            else:
                found = [sql] if sql.strip() else []
        else:
            found = list(sql)
        if not found:
            raise ValueError("List of SQL statements is empty")
        return found

    def run(
        self,
        sql: str | Iterable[str],
        autocommit: bool = False,
        parameters: Parameters = None,
        handler: Callable[[Any], Any] | None = None,
        split_statements: bool = False,
        return_last: bool = True,
    ) -> Any:
        """Run one statement or several, in one transaction unless ``autocommit``.

        With a ``handler``, each statement's cursor goes through it; the result is the last
        statement's when ``sql`` is one string and ``return_last`` (or the string is not
        split), else a list with one result per statement. Without a handler, None.
        """
        statements = self._statements(sql, split_statements)
        hook_lineage.add_sql(self, statements)  # for OpenLineage, when a try collects
        single = handlers.return_single_query_results(sql, return_last, split_statements)
        results: list[Any] = []
        descriptions: list[Any] = []
        with self._autocommit_connection(autocommit) as conn:
            cursor = conn.cursor()
            try:
                for statement in statements:
                    self._run_command(cursor, statement, parameters)
                    if handler is not None:
                        results.append(self._make_common_data_structure(handler(cursor)))
                        descriptions.append(cursor.description)
                    self._finish_statement(cursor)
            finally:
                cursor.close()
            if not self.get_autocommit(conn):
                conn.commit()
        if handler is None:
            self.descriptions = []
            return None
        if single:
            self.descriptions = descriptions[-1:]
            return results[-1]
        self.descriptions = descriptions
        return results

    def _finish_statement(self, cursor: Any) -> None:
        """After a statement's result is read: a driver that runs several statements in one
        string (MySQL's) reads the other statements' results here."""

    def _make_common_data_structure(self, result: Any) -> Any:
        """A handler's result as the hook returns it; the drivers here already give tuples."""
        return result

    def _run_command(self, cursor: Any, statement: str, parameters: Parameters) -> None:
        if self.log_sql:
            self.log.info("Running statement: %s, parameters: %s", statement, parameters)
        if parameters:
            if isinstance(parameters, list):
                parameters = tuple(parameters)
            cursor.execute(statement, parameters)
        else:
            cursor.execute(statement)
        count = getattr(cursor, "rowcount", None)
        if isinstance(count, int) and count >= 0:
            self.log.info("Rows affected: %s", count)

    # -- writing rows ----------------------------------------------------------------------

    @staticmethod
    def _serialize_cell(cell: Any, conn: Any = None) -> Any:
        """A cell as ``insert_rows`` passes it: text, as Airflow's base hook does; the
        drivers' hooks pass values through for their driver to adapt."""
        if cell is None:
            return None
        if isinstance(cell, datetime):
            return cell.isoformat()
        return str(cell)

    def _insert_statement(
        self, table: str, width: int, target_fields: Iterable[str] | None, **kwargs: Any
    ) -> str:
        columns = f"({', '.join(target_fields)}) " if target_fields else ""
        marks = ", ".join([self._connection_placeholder()] * width)
        return f"INSERT INTO {table} {columns}VALUES ({marks})"

    def _connection_placeholder(self) -> str:
        """The connection's extra ``placeholder`` when it is ``%s`` or ``?`` (a JDBC driver
        wants ``?``), as Airflow's hooks read it; else the hook's own."""
        wanted = self.connection.extra_dejson.get("placeholder")
        if wanted in _PLACEHOLDERS:
            return str(wanted)
        if wanted is not None:
            self.log.warning(
                "Placeholder %r defined in connection %s is not listed in %s: using %r",
                wanted,
                self.get_conn_id(),
                ", ".join(_PLACEHOLDERS),
                self.placeholder,
            )
        return self.placeholder

    def _replace_statement(
        self, table: str, width: int, target_fields: Iterable[str] | None, **kwargs: Any
    ) -> str:
        raise TaskError(f"{type(self).__name__}.insert_rows does not take replace=True")

    def insert_rows(
        self,
        table: str,
        rows: Iterable[Iterable[Any]],
        target_fields: Iterable[str] | None = None,
        commit_every: int = 1000,
        replace: bool = False,
        *,
        executemany: bool = False,
        fast_executemany: bool = False,
        autocommit: bool = False,
        **kwargs: Any,
    ) -> None:
        """Insert rows, committing every ``commit_every`` rows (0: once at the end);
        ``replace=True`` writes an upsert in the database's spelling."""
        fields = list(target_fields) if target_fields else None
        make = self._replace_statement if replace else self._insert_statement
        batched = executemany or self.supports_executemany
        written = 0
        with self._autocommit_connection(autocommit) as conn:
            cursor = conn.cursor()
            try:
                for chunk in _chunks(rows, commit_every):
                    values = [tuple(self._serialize_cell(c, conn) for c in row) for row in chunk]
                    if batched:  # one statement for the chunk (every row of one width)
                        cursor.executemany(make(table, len(values[0]), fields, **kwargs), values)
                    else:
                        for row_values in values:
                            cursor.execute(
                                make(table, len(row_values), fields, **kwargs), row_values
                            )
                    conn.commit()
                    written += len(values)
                    self.log.info("Loaded %s rows into %s so far", written, table)
            finally:
                cursor.close()
        self.log.info("Done loading. Loaded a total of %s rows into %s", written, table)

    def bulk_dump(self, table: str, tmp_file: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no bulk_dump")

    def bulk_load(self, table: str, tmp_file: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no bulk_load")


def _chunks(rows: Iterable[Iterable[Any]], size: int) -> Iterator[list[Iterable[Any]]]:
    """``rows`` in lists of ``size`` (all in one list when ``size`` is 0)."""
    chunk: list[Iterable[Any]] = []
    for row in rows:
        chunk.append(row)
        if size and len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
