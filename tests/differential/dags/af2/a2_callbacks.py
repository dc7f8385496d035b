"""Airflow 2 callbacks: retry then failure, and the DAG's failure callback."""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, callback


def bad():
    raise RuntimeError("bad")


with DAG(
    "a2_callbacks",
    schedule_interval=None,
    start_date=START,
    catchup=False,
    on_failure_callback=callback("dag_failure"),
):
    PythonOperator(
        task_id="bad",
        python_callable=bad,
        retries=1,
        retry_delay=timedelta(seconds=1),
        on_retry_callback=callback("task_retry"),
        on_failure_callback=callback("task_failure"),
    )
