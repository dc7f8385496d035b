"""One mapped instance failing fails the task for its downstream."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("map_one_fails", schedule=None, start_date=START, catchup=False):

    @task
    def check(x):
        if x == 2:
            raise ValueError("two")
        return x

    mapped = check.expand(x=[1, 2, 3])
    mapped >> EmptyOperator(task_id="after")
    mapped >> EmptyOperator(task_id="after_done", trigger_rule="all_done")
