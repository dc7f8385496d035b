"""A timed-out try is retried: on_retry_callback, then on_failure_callback."""

import time
from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, callback

with DAG("timeout_retry", schedule=None, start_date=START, catchup=False):

    @task(
        execution_timeout=timedelta(seconds=1),
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=callback("task_retry"),
        on_failure_callback=callback("task_failure"),
    )
    def slow():
        time.sleep(8)

    slow()
