"""Exponential backoff with a cap still retries until the try that succeeds."""

from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("retry_backoff", schedule=None, start_date=START, catchup=False):

    @task(
        retries=3,
        retry_delay=timedelta(seconds=1),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(seconds=2),
    )
    def slowly(**context):
        number = context["ti"].try_number
        rec(context, "try_number", number)
        if number < 3:
            raise RuntimeError("again")

    slowly()
