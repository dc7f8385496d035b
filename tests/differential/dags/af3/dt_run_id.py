"""The run id of a `dags test` run and its kind."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("dt_run_id", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        rec(context, "names_logical_date", "2026-01-01" in context["run_id"])

    look()
