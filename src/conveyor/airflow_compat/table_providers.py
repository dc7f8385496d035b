"""The Airflow provider modules Conveyor answers, part of the one table (``table.py`` merges
them into ``MODULES``): each provider's paths, Airflow 1.10's among them.

``PROVIDERS`` names what Conveyor ships of each provider, for the per-provider lists in
docs/airflow.md and for the error naming what there is when a file asks for a name of a
shipped provider that Conveyor lacks.
"""

from __future__ import annotations

_P = "conveyor.providers"

_DBAPI = {"DbApiHook": f"{_P}.dbapi:DbApiHook"}
_HANDLERS = {
    "fetch_all_handler": f"{_P}.handlers:fetch_all_handler",
    "fetch_one_handler": f"{_P}.handlers:fetch_one_handler",
    "return_single_query_results": f"{_P}.handlers:return_single_query_results",
}
_SQL_OPERATORS = {
    "BaseSQLOperator": f"{_P}.sql_operators:BaseSQLOperator",
    "SQLExecuteQueryOperator": f"{_P}.sql_operators:SQLExecuteQueryOperator",
    "BranchSQLOperator": f"{_P}.sql_operators:BranchSQLOperator",
}
_SQL_SENSOR = {"SqlSensor": f"{_P}.sql_sensor:SqlSensor"}
_POSTGRES_HOOK = {"PostgresHook": f"{_P}.postgres:PostgresHook"}
_POSTGRES_OPERATOR = {"PostgresOperator": f"{_P}.postgres:PostgresOperator"}
_MYSQL_HOOK = {"MySqlHook": f"{_P}.mysql:MySqlHook"}
_MYSQL_OPERATOR = {"MySqlOperator": f"{_P}.mysql:MySqlOperator"}
_SSH_HOOK = {"SSHHook": f"{_P}.ssh.hook:SSHHook"}
_SSH_OPERATOR = {"SSHOperator": f"{_P}.ssh.operator:SSHOperator"}
_SFTP_OPERATION = {"SFTPOperation": f"{_P}.sftp.hook:SFTPOperation"}
_SFTP_HOOK = {"SFTPHook": f"{_P}.sftp.hook:SFTPHook", **_SFTP_OPERATION}
_SFTP_OPERATOR = {"SFTPOperator": f"{_P}.sftp.operator:SFTPOperator", **_SFTP_OPERATION}
_SFTP_SENSOR = {"SFTPSensor": f"{_P}.sftp.sensor:SFTPSensor"}

#: Airflow module -> {name -> "conveyor.module:attribute"}, as ``table.MODULES``.
PROVIDER_MODULES: dict[str, dict[str, str]] = {
    # -- the providers' own paths (Airflow 2.x and 3.x) ------------------------------------
    "airflow.providers.common.sql.hooks.sql": {**_DBAPI, **_HANDLERS},
    "airflow.providers.common.sql.hooks.handlers": _HANDLERS,
    "airflow.providers.common.sql.operators.sql": _SQL_OPERATORS,
    "airflow.providers.common.sql.sensors.sql": _SQL_SENSOR,
    "airflow.providers.postgres.hooks.postgres": _POSTGRES_HOOK,
    "airflow.providers.postgres.operators.postgres": _POSTGRES_OPERATOR,
    "airflow.providers.mysql.hooks.mysql": _MYSQL_HOOK,
    "airflow.providers.mysql.operators.mysql": _MYSQL_OPERATOR,
    "airflow.providers.ssh.hooks.ssh": _SSH_HOOK,
    "airflow.providers.ssh.operators.ssh": _SSH_OPERATOR,
    "airflow.providers.sftp.hooks.sftp": _SFTP_HOOK,
    "airflow.providers.sftp.operators.sftp": _SFTP_OPERATOR,
    "airflow.providers.sftp.sensors.sftp": _SFTP_SENSOR,
    # -- Airflow 2.0-2.3's core paths ------------------------------------------------------
    "airflow.hooks.dbapi": _DBAPI,
    "airflow.operators.sql": {
        "BaseSQLOperator": _SQL_OPERATORS["BaseSQLOperator"],
        "BranchSQLOperator": _SQL_OPERATORS["BranchSQLOperator"],
    },
    "airflow.sensors.sql": _SQL_SENSOR,
    # -- Airflow 1.10 ------------------------------------------------------------------------
    "airflow.hooks.dbapi_hook": _DBAPI,
    "airflow.hooks.postgres_hook": _POSTGRES_HOOK,
    "airflow.hooks.mysql_hook": _MYSQL_HOOK,
    "airflow.operators.postgres_operator": _POSTGRES_OPERATOR,
    "airflow.operators.mysql_operator": _MYSQL_OPERATOR,
    "airflow.operators.sql_branch_operator": {
        "BranchSqlOperator": _SQL_OPERATORS["BranchSQLOperator"],
    },
    "airflow.sensors.sql_sensor": _SQL_SENSOR,
    "airflow.contrib.hooks.ssh_hook": _SSH_HOOK,
    "airflow.contrib.operators.ssh_operator": _SSH_OPERATOR,
    "airflow.contrib.hooks.sftp_hook": _SFTP_HOOK,
    "airflow.contrib.operators.sftp_operator": _SFTP_OPERATOR,
    "airflow.contrib.sensors.sftp_sensor": _SFTP_SENSOR,
    # ``from airflow.hooks import PostgresHook``: 1.10 answered these from the package too.
    "airflow.hooks": {**_DBAPI, **_POSTGRES_HOOK, **_MYSQL_HOOK},
    "airflow.operators": {**_POSTGRES_OPERATOR, **_MYSQL_OPERATOR},
    "airflow.sensors": _SQL_SENSOR,
}

#: Provider (as Airflow names its package) -> the module paths that belong to it.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "common.sql": (
        "airflow.providers.common.sql.hooks.sql",
        "airflow.providers.common.sql.hooks.handlers",
        "airflow.providers.common.sql.operators.sql",
        "airflow.providers.common.sql.sensors.sql",
    ),
    "postgres": (
        "airflow.providers.postgres.hooks.postgres",
        "airflow.providers.postgres.operators.postgres",
    ),
    "mysql": (
        "airflow.providers.mysql.hooks.mysql",
        "airflow.providers.mysql.operators.mysql",
    ),
    "ssh": ("airflow.providers.ssh.hooks.ssh", "airflow.providers.ssh.operators.ssh"),
    "sftp": (
        "airflow.providers.sftp.hooks.sftp",
        "airflow.providers.sftp.operators.sftp",
        "airflow.providers.sftp.sensors.sftp",
    ),
}

#: The extra each provider needs beyond a plain install (None: nothing more; psycopg, the
#: PostgreSQL driver, comes with every install).
EXTRAS: dict[str, str | None] = {"common.sql": None, "postgres": None, "mysql": "mysql"}

#: The ssh and sftp providers both run on paramiko.
EXTRAS["ssh"] = "ssh"
EXTRAS["sftp"] = "ssh"

def provider_of(module: str) -> str | None:
    """The provider an ``airflow.providers...`` module belongs to (``common.sql``, ...)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[:2] != ["airflow", "providers"]:
        return None
    return ".".join(parts[2:4]) if parts[2] == "common" else parts[2]
