"""partial() fixes arguments, expand() maps the others; two lists make a product."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_partial", schedule=None, start_date=START, catchup=False):

    @task
    def add(x, y, z, **context):
        rec(context, "args", [x, y, z])
        return x + y + z

    @task
    def total(values, **context):
        rec(context, "values", sorted(values))

    total(add.partial(z=100).expand(x=[1, 2], y=[10, 20]))
