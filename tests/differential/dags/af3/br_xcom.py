"""A branch's return value is its XCom too."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("br_xcom", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return "a"

    @task(trigger_rule="none_failed")
    def look(**context):
        rec(context, "branch_xcom", context["ti"].xcom_pull(task_ids="pick"))

    p = pick()
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    p >> [a, b]
    [a, b] >> look()
