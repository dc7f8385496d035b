"""What a DAG author sees of the sql provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 2.10.5 has and 3.3.2 does not, of
airflow.hooks.jdbc_hook to
airflow.providers.postgres.operators.postgres:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, describe, rec

MODULES = {
    "airflow.hooks.jdbc_hook": ["JdbcHook"],
    "airflow.hooks.mysql_hook": ["MySqlHook"],
    "airflow.hooks.postgres_hook": ["PostgresHook"],
    "airflow.hooks.sqlite_hook": ["SqliteHook"],
    "airflow.operators.check_operator": [
        "CheckOperator",
        "IntervalCheckOperator",
        "SQLCheckOperator",
        "SQLIntervalCheckOperator",
        "SQLValueCheckOperator",
        "ThresholdCheckOperator",
        "ValueCheckOperator",
    ],
    "airflow.operators.postgres_operator": ["PostgresOperator"],
    "airflow.operators.sql": [
        "BaseSQLOperator",
        "BranchSQLOperator",
        "SQLCheckOperator",
        "SQLColumnCheckOperator",
        "SQLIntervalCheckOperator",
        "SQLTableCheckOperator",
        "SQLThresholdCheckOperator",
        "SQLValueCheckOperator",
    ],
    "airflow.operators.sql_branch_operator": ["BranchSqlOperator"],
    "airflow.providers.postgres.operators.postgres": ["PostgresOperator"],
}

with DAG("a2_names_prov_sql", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
