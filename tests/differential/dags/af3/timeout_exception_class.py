"""The failure callback of a timed-out try gets AirflowTaskTimeout as its exception."""

import time
from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START, rec


def failed(context):
    rec(context, "exception", type(context.get("exception")).__name__)


with DAG("timeout_exception_class", schedule=None, start_date=START, catchup=False):

    @task(execution_timeout=timedelta(seconds=1), on_failure_callback=failed)
    def slow():
        time.sleep(8)

    slow()
