"""A try that ends inside its execution_timeout succeeds."""

from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START

with DAG("timeout_within", schedule=None, start_date=START, catchup=False):

    @task(execution_timeout=timedelta(seconds=30))
    def quick():
        return 1

    quick()
