"""expand_kwargs on a @task: one instance per dict of arguments."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_expand_kwargs_task", schedule=None, start_date=START, catchup=False):

    @task
    def add(x, y, **context):
        rec(context, "args", [x, y])

    add.expand_kwargs([{"x": 1, "y": 2}, {"x": 3, "y": 4}])
