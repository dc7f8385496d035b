"""A branch returning a list follows every task in it."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("br_list", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return ["a", "b"]

    pick() >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b"), EmptyOperator(task_id="c")]
