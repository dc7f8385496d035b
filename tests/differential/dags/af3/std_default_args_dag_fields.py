"""start_date and params given only in default_args count for the DAG: the run has the
params, and a task sees them."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "std_default_args_dag_fields",
    schedule=None,
    catchup=False,
    default_args={"start_date": START, "params": {"region": "eu", "size": 2}},
):

    @task
    def look(**context):
        rec(context, "params", dict(context["params"]))

    look()
