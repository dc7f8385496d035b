"""SQLIntervalCheckOperator: {{ ds }}'s rows against those days_back days before."""

from airflow.exceptions import AirflowException
from airflow.providers.common.sql.operators.sql import (
    SQLExecuteQueryOperator,
    SQLIntervalCheckOperator,
)
from airflow.sdk import DAG
from difrec import START, rec

TABLE = "prov_sql_interval_t"


def failed(context):
    rec(context, "airflow_exception", isinstance(context["exception"], AirflowException))


with DAG(
    "prov_sql_interval_check",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    make = SQLExecuteQueryOperator(
        task_id="make",
        conn_id="diffsuite_sql",
        sql=[
            f"DROP TABLE IF EXISTS {TABLE}",
            f"CREATE TABLE {TABLE} (ds date, v int)",
            f"INSERT INTO {TABLE} VALUES ('2026-01-01', 10), ('2026-01-01', 12),"
            " ('2025-12-25', 10), ('2025-12-25', 30)",
        ],
    )
    close = SQLIntervalCheckOperator(
        task_id="close",
        conn_id="diffsuite_sql",
        table=TABLE,
        days_back=7,
        metrics_thresholds={"COUNT(*)": 1.5},
    )
    apart = SQLIntervalCheckOperator(
        task_id="apart",
        conn_id="diffsuite_sql",
        table=TABLE,
        days_back=7,
        metrics_thresholds={"SUM(v)": 1.2},
    )
    relative = SQLIntervalCheckOperator(
        task_id="relative",
        conn_id="diffsuite_sql",
        table=TABLE,
        days_back=7,
        ratio_formula="relative_diff",
        metrics_thresholds={"MAX(v)": 0.5},
    )
    drop = SQLExecuteQueryOperator(
        task_id="drop",
        conn_id="diffsuite_sql",
        sql=f"DROP TABLE IF EXISTS {TABLE}",
        trigger_rule="all_done",
    )
    make >> [close, apart, relative] >> drop
