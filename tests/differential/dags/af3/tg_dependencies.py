"""group >> task waits for every task of the group; a failure inside blocks it."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task
from difrec import START

with DAG("tg_dependencies", schedule=None, start_date=START, catchup=False):

    @task
    def bad():
        raise RuntimeError("bad")

    start = EmptyOperator(task_id="start")
    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="a")
        bad()
    start >> grp >> EmptyOperator(task_id="end")
