"""Airflow 2: a try past execution_timeout fails and its failure callback runs."""

import time
from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, callback

with DAG("a2_timeout", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="slow",
        python_callable=lambda: time.sleep(8),
        execution_timeout=timedelta(seconds=1),
        on_failure_callback=callback("task_failure"),
    )
