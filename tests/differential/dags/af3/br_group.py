"""A branch may name a task inside a task group by its full id."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task
from difrec import START

with DAG("br_group", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return "grp.inner_b"

    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="inner_a")
        EmptyOperator(task_id="inner_b")
    pick() >> grp
