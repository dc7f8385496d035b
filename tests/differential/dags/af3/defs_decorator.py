"""A @dag function called at the top defines its DAG; one never called does not."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import dag
from difrec import START


@dag(schedule=None, start_date=START, catchup=False)
def defs_called():
    EmptyOperator(task_id="a")


@dag(schedule=None, start_date=START, catchup=False)
def defs_never_called():
    EmptyOperator(task_id="b")


defs_called()
