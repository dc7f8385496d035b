"""{{ run_id }} and {{ dag_run.run_type }} of a `dags test` run."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("tpl_run_id", schedule=None, start_date=START, catchup=False):

    @task
    def look(run_id, **context):
        rec(context, "run_id_kind", run_id.split("__")[0])

    look("{{ run_id }}")
