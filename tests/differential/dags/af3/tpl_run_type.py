"""{{ dag_run.run_type }} renders as the run type's value."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("tpl_run_type", schedule=None, start_date=START, catchup=False):

    @task
    def look(run_type, **context):
        rec(context, "rendered", run_type)
        rec(context, "str", str(context["dag_run"].run_type))

    look("{{ dag_run.run_type }}")
