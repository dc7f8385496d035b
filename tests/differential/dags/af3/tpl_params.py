"""{{ params.X }} renders a param's default."""

from airflow.sdk import DAG, Param, task
from difrec import START, rec

with DAG(
    "tpl_params",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"region": "eu", "limit": Param(5, type="integer")},
):

    @task
    def look(values, **context):
        rec(context, "values", values)

    look(["{{ params.region }}", "{{ params.limit }}", "{{ params.limit + 1 }}"])
