"""A try that fails is retried; the second try succeeds and sees try_number 2."""

from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("retry_then_ok", schedule=None, start_date=START, catchup=False):

    @task(retries=2, retry_delay=timedelta(seconds=1))
    def flaky(**context):
        ti = context["ti"]
        rec(context, "try_number", ti.try_number)
        if ti.try_number < 2:
            raise RuntimeError("first try fails")
        return "done"

    flaky()
