"""fail_fast=True: once a task fails, the tasks not yet run are skipped, not upstream_failed."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("fail_fast", schedule=None, start_date=START, catchup=False, fail_fast=True):

    @task
    def bad():
        raise RuntimeError("bad")

    b = bad()
    b >> EmptyOperator(task_id="after_bad") >> EmptyOperator(task_id="later")
