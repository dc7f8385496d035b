"""A mapped task group: each element runs the group's tasks."""

from airflow.sdk import DAG, task, task_group
from difrec import START, rec

with DAG("map_task_group", schedule=None, start_date=START, catchup=False):

    @task
    def plus_one(x):
        return x + 1

    @task
    def show(y, **context):
        rec(context, "y", y)

    @task_group
    def pipeline(x):
        show(plus_one(x))

    pipeline.expand(x=[10, 20])
