"""A branch returning None skips every direct downstream task."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("br_none", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return None

    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    pick() >> [a, b]
    a >> EmptyOperator(task_id="after_a", trigger_rule="all_done")
