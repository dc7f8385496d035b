"""@task_group returning a task's output wires it to the next task."""

from airflow.sdk import DAG, task, task_group
from difrec import START, rec

with DAG("tg_decorator", schedule=None, start_date=START, catchup=False):

    @task
    def one():
        return 1

    @task
    def inc(x):
        return x + 1

    @task
    def show(x, **context):
        rec(context, "x", x)
        rec(context, "upstream", sorted(context["task"].upstream_task_ids))

    @task_group
    def steps():
        return inc(inc(one()))

    show(steps())
