"""context["params"] holds the DAG's params, a task's own params on top."""

from airflow.sdk import DAG, Param, task
from difrec import START, rec

with DAG(
    "ctx_params",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"a": 1, "b": Param("x", type="string")},
):

    @task(params={"b": "task", "c": 3})
    def look(**context):
        rec(context, "params", dict(context["params"]))

    look()
