"""A task group's default_args apply to its tasks over the DAG's."""

from airflow.sdk import DAG, TaskGroup, task
from difrec import START, rec

with DAG(
    "tg_default_args", schedule=None, start_date=START, catchup=False, default_args={"retries": 1}
):

    @task
    def look(**context):
        rec(context, "retries", context["task"].retries)

    look.override(task_id="outside")()
    with TaskGroup("grp", default_args={"retries": 4}):
        look.override(task_id="inside")()
