"""on_retry_callback runs for each retried try, on_failure_callback for the last."""

from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, callback

with DAG("retry_callbacks", schedule=None, start_date=START, catchup=False):

    @task(
        retries=1,
        retry_delay=timedelta(seconds=1),
        on_retry_callback=callback("task_retry"),
        on_failure_callback=callback("task_failure"),
        on_success_callback=callback("task_success"),
    )
    def broken():
        raise ValueError("broken")

    broken()
