"""A @dag function's parameters are params and reach tasks as values."""

from airflow.sdk import dag, task
from difrec import START, rec


@dag(schedule=None, start_date=START, catchup=False)
def params_dag_decorator(region="eu", limit=5):
    @task
    def look(region, limit, **context):
        rec(context, "args", [region, limit])
        rec(context, "params", dict(context["params"]))

    look(region, limit)


params_dag_decorator()
