"""The run id of a `dags test` run and its kind."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("dt_run_id", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        run_id = context["run_id"]
        rec(context, "names_logical_date", run_id.endswith("2026-01-01T00:00:00+00:00"))

    look()
