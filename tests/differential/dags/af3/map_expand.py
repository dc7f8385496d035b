"""expand over a list: one instance per element, the results gathered in order."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_expand", schedule=None, start_date=START, catchup=False):

    @task
    def double(x, **context):
        rec(context, "x", x)
        return x * 2

    @task
    def total(values, **context):
        rec(context, "values", list(values))

    total(double.expand(x=[1, 2, 3]))
