"""The SQL providers whose code is the flat modules beside this package: common.sql
(``dbapi.py``, ``sql_operators.py``, ``sql_checks.py``, ``sql_sensor.py``, ``handlers.py``),
postgres, mysql, sqlite and jdbc, declared here rather than in their modules because a
declaration must import no driver (``mysql.py`` and ``jdbc.py`` load theirs at import, and
fail without their extra). A new provider is a package of its own, with its ``PROVIDER``.
"""

from __future__ import annotations

from conveyor.providers.declaration import (
    ConnectionType,
    FormField,
    Provider,
    database_fields,
    hook_and_operator_paths,
    same_names,
)

# -- common.sql ----------------------------------------------------------------------
_SQL = "conveyor.providers"
_DBAPI = same_names(f"{_SQL}.dbapi", "DbApiHook")
_HANDLERS = same_names(
    f"{_SQL}.handlers", "fetch_all_handler", "fetch_one_handler", "return_single_query_results"
)
_SQL_OPERATORS = same_names(
    f"{_SQL}.sql_operators", "BaseSQLOperator", "SQLExecuteQueryOperator", "BranchSQLOperator"
)
_SQL_CHECKS = same_names(
    f"{_SQL}.sql_checks",
    "SQLCheckOperator",
    "SQLValueCheckOperator",
    "SQLIntervalCheckOperator",
    "SQLThresholdCheckOperator",
    "SQLColumnCheckOperator",
    "SQLTableCheckOperator",
)
_SQL_SENSOR = same_names(f"{_SQL}.sql_sensor", "SqlSensor")

COMMON_SQL = Provider(
    module="conveyor.providers.dbapi",
    name="common.sql",
    airflow_modules={
        "airflow.providers.common.sql.hooks.sql": {**_DBAPI, **_HANDLERS},
        "airflow.providers.common.sql.hooks.handlers": _HANDLERS,
        "airflow.providers.common.sql.operators.sql": {**_SQL_OPERATORS, **_SQL_CHECKS},
        "airflow.providers.common.sql.sensors.sql": _SQL_SENSOR,
        # Airflow 2.0-2.3's core paths.
        "airflow.hooks.dbapi": _DBAPI,
        "airflow.operators.sql": {
            "BaseSQLOperator": _SQL_OPERATORS["BaseSQLOperator"],
            "BranchSQLOperator": _SQL_OPERATORS["BranchSQLOperator"],
            **_SQL_CHECKS,
        },
        "airflow.sensors.sql": _SQL_SENSOR,
        # Airflow 1.10's.
        "airflow.hooks.dbapi_hook": _DBAPI,
        "airflow.operators.sql_branch_operator": {
            "BranchSqlOperator": _SQL_OPERATORS["BranchSQLOperator"],
        },
        "airflow.sensors.sql_sensor": _SQL_SENSOR,
        # 1.10's check operators (2.0-2.3 kept the module, with the SQL* names as well).
        "airflow.operators.check_operator": {
            **{n: _SQL_CHECKS[n] for n in ("SQLCheckOperator", "SQLValueCheckOperator")},
            "SQLIntervalCheckOperator": _SQL_CHECKS["SQLIntervalCheckOperator"],
            "CheckOperator": _SQL_CHECKS["SQLCheckOperator"],
            "ValueCheckOperator": _SQL_CHECKS["SQLValueCheckOperator"],
            "IntervalCheckOperator": _SQL_CHECKS["SQLIntervalCheckOperator"],
            "ThresholdCheckOperator": _SQL_CHECKS["SQLThresholdCheckOperator"],
        },
        # ``from airflow.hooks import DbApiHook``: 1.10 answered these from the packages too.
        "airflow.hooks": _DBAPI,
        "airflow.sensors": _SQL_SENSOR,
        "airflow.operators.sensors": _SQL_SENSOR,
    },
)


_POSTGRES_HOOK = same_names("conveyor.providers.postgres", "PostgresHook")
_POSTGRES_OPERATOR = same_names("conveyor.providers.postgres", "PostgresOperator")

POSTGRES = Provider(
    module="conveyor.providers.postgres",
    name="postgres",
    connection_types=(
        ConnectionType(
            "postgres",
            "conveyor.providers.postgres:PostgresHook",
            "PostgreSQL",
            aliases=("postgresql",),
            sql=True,
            testable=True,
            fields=database_fields("5432"),
            extras=(
                FormField("sslmode", "SSL mode", "require"),
                FormField("cursor", "Rows as", "dictcursor"),
            ),
        ),
    ),
    airflow_modules=hook_and_operator_paths(
        "postgres", _POSTGRES_HOOK, _POSTGRES_OPERATOR, from_packages=True
    ),
)


_MYSQL_HOOK = same_names("conveyor.providers.mysql", "MySqlHook")
_MYSQL_OPERATOR = same_names("conveyor.providers.mysql", "MySqlOperator")

MYSQL = Provider(
    module="conveyor.providers.mysql",
    name="mysql",
    extra="mysql",
    connection_types=(
        ConnectionType(
            "mysql",
            "conveyor.providers.mysql:MySqlHook",
            "MySQL",
            aliases=("mariadb",),
            sql=True,
            testable=True,
            fields=database_fields("3306"),
            extras=(
                FormField("charset", "Character set", "utf8mb4"),
                FormField("ssl", "SSL options", '{"ca": "/etc/ssl/ca.pem"}'),
                FormField("unix_socket", "Unix socket", "/run/mysqld/mysqld.sock"),
                FormField("local_infile", "Allow LOAD DATA LOCAL", "false"),
            ),
        ),
    ),
    airflow_modules=hook_and_operator_paths(
        "mysql", _MYSQL_HOOK, _MYSQL_OPERATOR, from_packages=True
    ),
)


_SQLITE_HOOK = same_names("conveyor.providers.sqlite", "SqliteHook")
# The sqlite provider's operator until 4.0 (a deprecated SQLExecuteQueryOperator).
_SQLITE_OPERATOR = same_names("conveyor.providers.sqlite", "SqliteOperator")

SQLITE = Provider(
    module="conveyor.providers.sqlite",
    name="sqlite",
    connection_types=(
        ConnectionType(
            "sqlite",
            "conveyor.providers.sqlite:SqliteHook",
            "SQLite",
            sql=True,
            testable=True,
            fields=(FormField("host", "Database file", "/data/app.db"),),
            hidden=("port", "login", "password", "schema"),
        ),
    ),
    airflow_modules=hook_and_operator_paths(
        "sqlite", _SQLITE_HOOK, _SQLITE_OPERATOR, from_packages=False
    ),
)


_JDBC_HOOK = same_names("conveyor.providers.jdbc", "JdbcHook")
# The jdbc provider's operator until 5.0 (a deprecated SQLExecuteQueryOperator).
_JDBC_OPERATOR = same_names("conveyor.providers.jdbc", "JdbcOperator")

JDBC = Provider(
    module="conveyor.providers.jdbc",
    name="jdbc",
    extra="jdbc",  # JayDeBeApi, JPype
    connection_types=(
        ConnectionType(
            "jdbc",
            "conveyor.providers.jdbc:JdbcHook",
            "JDBC",
            sql=True,
            testable=True,
            fields=(
                FormField("host", "Connection URL", "jdbc:postgresql://db.example.com/analytics"),
                FormField("login", "User"),
            ),
            hidden=("port", "schema"),
            extras=(
                FormField("driver_class", "Driver class", "org.postgresql.Driver"),
                FormField("driver_path", "Driver jar", "/opt/jdbc/postgresql.jar"),
            ),
        ),
    ),
    airflow_modules=hook_and_operator_paths(
        "jdbc", _JDBC_HOOK, _JDBC_OPERATOR, from_packages=False
    ),
)


#: What the registry reads of this package: its five providers.
PROVIDERS = (COMMON_SQL, POSTGRES, MYSQL, SQLITE, JDBC)
