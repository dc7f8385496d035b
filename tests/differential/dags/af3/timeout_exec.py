"""A try past execution_timeout fails, and its failure callback runs."""

import time
from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, callback

with DAG("timeout_exec", schedule=None, start_date=START, catchup=False):

    @task(execution_timeout=timedelta(seconds=1), on_failure_callback=callback("task_failure"))
    def slow():
        time.sleep(8)

    slow()
