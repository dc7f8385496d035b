"""A task failing every try ends failed after retries + 1 tries."""

from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("retry_exhausted", schedule=None, start_date=START, catchup=False):

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def always_fails(**context):
        rec(context, "try_number", context["ti"].try_number)
        raise RuntimeError("no luck")

    always_fails()
