"""EmptyOperator pushes no XCom; LatestOnlyOperator on a manual run lets what follows run."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("std_empty_latest", schedule="@daily", start_date=START, catchup=False):

    @task
    def see(**context):
        rec(context, "empty_xcom", context["ti"].xcom_pull(task_ids="empty"))

    LatestOnlyOperator(task_id="latest") >> EmptyOperator(task_id="empty") >> see()
