"""Airflow 2's ShortCircuitOperator."""

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import ShortCircuitOperator
from difrec import START

with DAG("a2_short_circuit", schedule_interval=None, start_date=START, catchup=False):
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    gate >> EmptyOperator(task_id="a") >> EmptyOperator(task_id="b", trigger_rule="all_done")
