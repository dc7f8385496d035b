"""dag_run.run_type of a `dags test` run, as text."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_run_type", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        rec(context, "run_type", str(context["dag_run"].run_type))
        rec(context, "run_id_kind", context["run_id"].split("__")[0])

    look()
