"""SQLColumnCheckOperator and SQLTableCheckOperator on one table: passing and failing checks."""

from airflow.exceptions import AirflowException
from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)
from airflow.sdk import DAG
from difrec import START, rec

TABLE = "prov_sql_column_t"


def failed(context):
    rec(context, "airflow_exception", isinstance(context["exception"], AirflowException))


with DAG(
    "prov_sql_column_check",
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
            f"CREATE TABLE {TABLE} (id int, v int, tag text)",
            f"INSERT INTO {TABLE} VALUES (1, 3, 'a'), (2, 5, 'b'), (3, 5, NULL)",
        ],
    )
    columns_pass = SQLColumnCheckOperator(
        task_id="columns_pass",
        conn_id="diffsuite_sql",
        table=TABLE,
        column_mapping={
            "id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "v": {
                "min": {"geq_to": 3},
                "max": {"less_than": 10},
                "distinct_check": {"equal_to": 2},
            },
        },
    )
    columns_fail = SQLColumnCheckOperator(
        task_id="columns_fail",
        conn_id="diffsuite_sql",
        table=TABLE,
        column_mapping={"tag": {"null_check": {"equal_to": 0}}},
    )
    columns_tolerance = SQLColumnCheckOperator(
        task_id="columns_tolerance",
        conn_id="diffsuite_sql",
        table=TABLE,
        column_mapping={"v": {"max": {"equal_to": 4.8, "tolerance": 0.1}}},
    )
    table_pass = SQLTableCheckOperator(
        task_id="table_pass",
        conn_id="diffsuite_sql",
        table=TABLE,
        checks={
            "row_count": {"check_statement": "COUNT(*) = 3"},
            "sum_v": {"check_statement": "SUM(v) = 13"},
        },
    )
    table_fail = SQLTableCheckOperator(
        task_id="table_fail",
        conn_id="diffsuite_sql",
        table=TABLE,
        checks={"row_count": {"check_statement": "COUNT(*) = 4"}},
    )
    table_partition = SQLTableCheckOperator(
        task_id="table_partition",
        conn_id="diffsuite_sql",
        table=TABLE,
        checks={"row_count": {"check_statement": "COUNT(*) = 2"}},
        partition_clause="v = 5",
    )
    drop = SQLExecuteQueryOperator(
        task_id="drop",
        conn_id="diffsuite_sql",
        sql=f"DROP TABLE IF EXISTS {TABLE}",
        trigger_rule="all_done",
    )
    checks = [
        columns_pass,
        columns_fail,
        columns_tolerance,
        table_pass,
        table_fail,
        table_partition,
    ]
    make >> checks >> drop
