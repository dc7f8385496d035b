"""`dags test` at a date before the DAG's start_date."""

from datetime import UTC, datetime

from airflow.sdk import DAG, task
from difrec import rec

with DAG(
    "dt_before_start", schedule=None, start_date=datetime(2027, 1, 1, tzinfo=UTC), catchup=False
):

    @task
    def work(**context):
        rec(context, "ran", True)

    work()
