"""One instance of a mapped task group fails: what its task's downstream does at each index."""

from airflow.sdk import DAG, task, task_group
from difrec import START, rec

with DAG("tg_mapped_one_fails", schedule=None, start_date=START, catchup=False):

    @task
    def check(x):
        if x == 2:
            raise ValueError("two")
        return x

    @task
    def after(y, **context):
        rec(context, "after", y)

    @task_group
    def each(x):
        after(check(x))

    each.expand(x=[1, 2, 3])
