"""BranchSQLOperator: the first value of the query picks the branch."""

from airflow.providers.common.sql.operators.sql import BranchSQLOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from difrec import START

with DAG("prov_sql_branch", schedule=None, start_date=START, catchup=False):
    yes_branch = BranchSQLOperator(
        task_id="yes_branch",
        conn_id="diffsuite_sql",
        sql="SELECT 1",
        follow_task_ids_if_true=["yes_a"],
        follow_task_ids_if_false=["yes_b"],
    )
    yes_branch >> [EmptyOperator(task_id="yes_a"), EmptyOperator(task_id="yes_b")]
    text_branch = BranchSQLOperator(
        task_id="text_branch",
        conn_id="diffsuite_sql",
        sql="SELECT 'false'",
        follow_task_ids_if_true="text_a",
        follow_task_ids_if_false="text_b",
    )
    text_branch >> [EmptyOperator(task_id="text_a"), EmptyOperator(task_id="text_b")]
    none_branch = BranchSQLOperator(
        task_id="none_branch",
        conn_id="diffsuite_sql",
        sql="SELECT 1 WHERE false",
        follow_task_ids_if_true="none_a",
        follow_task_ids_if_false="none_b",
    )
    none_branch >> [EmptyOperator(task_id="none_a"), EmptyOperator(task_id="none_b")]
