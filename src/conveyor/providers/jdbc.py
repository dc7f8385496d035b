"""Any database with a JDBC driver: ``JdbcHook`` and ``JdbcOperator``, as Airflow's jdbc provider.

The driver is Java's, through JayDeBeApi on JPype (the extra ``conveyor[jdbc]``; a Java
runtime must be installed). The connection (type ``jdbc``) holds the whole JDBC URL in its
host (``jdbc:postgresql://db:5432/sales``), the user in its login and the password.

Which driver: the hook's ``driver_class`` / ``driver_path`` arguments (``hook_params`` of
the SQL operators), else ``JdbcHook.default_driver_class`` / ``default_driver_path``. A
connection's extras ``driver_class`` / ``driver_path`` are used only when the settings
``providers_jdbc_allow_driver_class_in_extra`` / ``providers_jdbc_allow_driver_path_in_extra``
allow them (``CONVEYOR_PROVIDERS_JDBC_ALLOW_...`` or Airflow's
``AIRFLOW__PROVIDERS_JDBC__ALLOW_..._IN_EXTRA``); otherwise they are ignored with a warning,
as in Airflow: whoever may edit connections would otherwise choose the code tasks load.
``driver_path`` may list several jars, comma-separated.

The JVM starts once per process, with the jars of the first connection opened in it; a jar
another connection names later is added to the classpath only if the JVM has not started.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any, ClassVar
from urllib.parse import quote_plus, urlencode

from conveyor.config import load_config
from conveyor.connections import Connection
from conveyor.exceptions import TaskError
from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames
from conveyor.providers.dbapi import DbApiHook, url_authority
from conveyor.providers.sql_operators import SQLExecuteQueryOperator

jaydebeapi = load("jaydebeapi", "jdbc", "jdbc")
jpype = load("jpype", "jdbc", "jdbc")

_TRUE = ("true", "t", "1", "yes", "y", "on")


def _allowed(key: str) -> bool:
    """Airflow's ``[providers.jdbc] <key>``: its variable wins, else Conveyor's setting."""
    variable = os.environ.get(f"AIRFLOW__PROVIDERS_JDBC__{key.upper()}")
    if variable is not None:
        return variable.strip().lower() in _TRUE
    return bool(getattr(load_config().settings, f"providers_jdbc_{key}"))


class JdbcHook(DbApiHook):
    """A database through its JDBC driver: ``JdbcHook(jdbc_conn_id="...",
    driver_class="org.postgresql.Driver", driver_path="/usr/share/java/postgresql.jar")``."""

    names = HookNames("jdbc_conn_id", "jdbc_default", "jdbc", "JDBC Connection")
    supports_autocommit: ClassVar[bool] = True
    #: What a ``local_settings``-style patch of the class sets, as in Airflow.
    default_driver_path: ClassVar[str | None] = None
    default_driver_class: ClassVar[str | None] = None
    _lock = threading.RLock()

    def __init__(
        self,
        *args: Any,
        driver_path: str | None = None,
        driver_class: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._driver_path = driver_path
        self._driver_class = driver_class

    def _from_extra(self, key: str, current: str | None) -> str | None:
        lowered = {str(k).lower(): v for k, v in self.connection.extra_dejson.items()}
        found = lowered.get(key)
        if found:
            if _allowed(f"allow_{key}_in_extra"):
                return str(found)
            self.log.warning(
                "You have supplied %r via connection extra but it will not be used. To use it "
                "set CONVEYOR_PROVIDERS_JDBC_ALLOW_%s_IN_EXTRA=true (Airflow's "
                "[providers.jdbc] allow_%s_in_extra), or give %r to the hook (hook_params "
                "of the SQL operators).",
                key,
                key.upper(),
                key,
                key,
            )
        return current

    @property
    def driver_path(self) -> str | None:
        self._driver_path = self._from_extra("driver_path", self._driver_path)
        if not self._driver_path:
            self._driver_path = self.default_driver_path
        return self._driver_path

    @property
    def driver_class(self) -> str | None:
        self._driver_class = self._from_extra("driver_class", self._driver_class)
        if not self._driver_class:
            self._driver_class = self.default_driver_class
        return self._driver_class

    def _connect(self, conn: Connection) -> Any:
        driver_class = self.driver_class
        if not driver_class:
            raise TaskError(
                f"JDBC connection {conn.conn_id!r}: no driver class: give JdbcHook("
                "driver_class=...) (hook_params={'driver_class': ...} on the SQL operators), or "
                "the connection's extra driver_class with "
                "CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_CLASS_IN_EXTRA=true"
            )
        path = self.driver_path
        with self._lock, warnings.catch_warnings():
            # JayDeBeApi 1.2.3 calls JPype functions JPype 1.5+ marks deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            return jaydebeapi.connect(
                jclassname=driver_class,
                url=str(conn.host),
                driver_args=[str(conn.login), str(conn.password)],
                jars=path.split(",") if path else None,
            )

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (jaydebeapi.Error, jpype.JException, TypeError)

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        try:
            conn.jconn.setAutoCommit(autocommit)
        except (jaydebeapi.Error, jpype.JException) as exc:
            self.log.warning("could not set autocommit on %s: %s", self.get_conn_id(), exc)

    def get_autocommit(self, conn: Any) -> bool:
        try:
            return bool(conn.jconn.getAutoCommit())
        except (jaydebeapi.Error, jpype.JException):
            return False

    def get_uri(self) -> str:
        """The JDBC URL (the host), or with the extra ``sqlalchemy_scheme`` (and
        ``sqlalchemy_driver``, ``sqlalchemy_query``) a SQLAlchemy URL, as Airflow writes it."""
        conn = self.connection
        scheme = conn.extra_dejson.get("sqlalchemy_scheme")
        if not scheme:
            return str(conn.host)
        driver = conn.extra_dejson.get("sqlalchemy_driver")
        prefix = f"{scheme}+{driver}" if driver else str(scheme)
        uri = f"{prefix}://{url_authority(conn)}" + (
            f"/{quote_plus(conn.schema)}" if conn.schema else ""
        )
        query = conn.extra_dejson.get("sqlalchemy_query") or {}
        if isinstance(query, dict):
            text = urlencode({k: str(v) for k, v in query.items() if v is not None})
            if text:
                uri += "?" + text
        return uri

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Any:
        """A SQLAlchemy engine whose connections are this hook's (needs the extra
        ``sqlalchemy_scheme`` naming the dialect, as in Airflow)."""
        if not self.connection.extra_dejson.get("sqlalchemy_scheme"):
            raise ValueError(
                "The parameter 'sqlalchemy_scheme' must be defined in extra for JDBC connections!"
            )
        return super().get_sqlalchemy_engine({**(engine_kwargs or {}), "creator": self.get_conn})


class JdbcOperator(SQLExecuteQueryOperator):
    """Airflow's deprecated ``JdbcOperator``: ``SQLExecuteQueryOperator`` on
    ``jdbc_conn_id``."""

    def __init__(self, *args: Any, jdbc_conn_id: str = "jdbc_default", **kwargs: Any) -> None:
        kwargs.setdefault("conn_id", jdbc_conn_id)
        super().__init__(*args, **kwargs)
