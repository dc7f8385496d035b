"""{{ dag.owner }} is the owner given in default_args."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "tpl_dag_owner",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"owner": "data-team"},
):

    @task
    def look(value, **context):
        rec(context, "owner", value)

    look("{{ dag.owner }}")
