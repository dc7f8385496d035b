"""on_skipped_callback runs when the task skips itself."""

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG, task
from difrec import START, callback

with DAG("cb_skipped", schedule=None, start_date=START, catchup=False):

    @task(
        on_skipped_callback=callback("task_skipped"), on_success_callback=callback("task_success")
    )
    def skips():
        raise AirflowSkipException("skip")

    skips()
