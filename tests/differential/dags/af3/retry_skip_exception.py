"""AirflowSkipException skips the task even with retries left."""

from datetime import timedelta

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG, task
from difrec import START

with DAG("retry_skip_exception", schedule=None, start_date=START, catchup=False):

    @task(retries=3, retry_delay=timedelta(seconds=1))
    def nothing():
        raise AirflowSkipException("not today")

    nothing()
