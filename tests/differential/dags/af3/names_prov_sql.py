"""What a DAG author sees of the sql provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.common.sql.hooks.handlers to
airflow.providers.sqlite.hooks.sqlite:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.common.sql.hooks.handlers": [
        "fetch_all_handler",
        "fetch_one_handler",
        "return_single_query_results",
    ],
    "airflow.providers.common.sql.hooks.sql": [
        "fetch_all_handler",
        "fetch_one_handler",
        "return_single_query_results",
    ],
    "airflow.providers.common.sql.operators.sql": [
        "BaseSQLOperator",
        "BranchSQLOperator",
        "SQLCheckOperator",
        "SQLColumnCheckOperator",
        "SQLExecuteQueryOperator",
        "SQLIntervalCheckOperator",
        "SQLTableCheckOperator",
        "SQLThresholdCheckOperator",
        "SQLValueCheckOperator",
    ],
    "airflow.providers.common.sql.sensors.sql": ["SqlSensor"],
    "airflow.providers.jdbc.hooks.jdbc": ["JdbcHook"],
    "airflow.providers.mysql.hooks.mysql": ["MySqlHook"],
    "airflow.providers.postgres.hooks.postgres": ["PostgresHook"],
    "airflow.providers.sqlite.hooks.sqlite": ["SqliteHook"],
}

with DAG("names_prov_sql", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
