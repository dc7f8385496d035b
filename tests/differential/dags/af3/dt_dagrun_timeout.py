"""`dags test` does not enforce dagrun_timeout."""

import time
from datetime import timedelta

from airflow.sdk import DAG, task
from difrec import START

with DAG(
    "dt_dagrun_timeout",
    schedule=None,
    start_date=START,
    catchup=False,
    dagrun_timeout=timedelta(seconds=1),
):

    @task
    def slow():
        time.sleep(4)

    @task
    def after():
        return 1

    slow() >> after()
