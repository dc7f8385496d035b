"""Task ids inside a task group carry the group's id; prefix_group_id=False drops it."""

from airflow.sdk import DAG, TaskGroup, task
from difrec import START, rec

with DAG("tg_ids", schedule=None, start_date=START, catchup=False):

    @task
    def who(**context):
        rec(context, "task_id", context["ti"].task_id)

    with TaskGroup("outer"), TaskGroup("inner"):
        who()
    with TaskGroup("flat", prefix_group_id=False):
        who.override(task_id="plain")()
