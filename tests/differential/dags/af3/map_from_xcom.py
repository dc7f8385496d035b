"""expand over an upstream task's returned list."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_from_xcom", schedule=None, start_date=START, catchup=False):

    @task
    def files():
        return ["a.csv", "b.csv"]

    @task
    def load(name, **context):
        rec(context, "name", name)
        rec(context, "map_index", context["ti"].map_index)

    load.expand(name=files())
