"""XComArg.map() transforms each element before the expansion."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_map", schedule=None, start_date=START, catchup=False):

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def show(value, **context):
        rec(context, "value", value)

    show.expand(value=numbers().map(lambda n: f"n={n}"))
