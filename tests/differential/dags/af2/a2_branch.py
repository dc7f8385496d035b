"""BranchPythonOperator in Airflow 2's spelling, joined by none_failed_min_one_success."""

from airflow import DAG
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python import BranchPythonOperator
from difrec import START

with DAG("a2_branch", schedule_interval=None, start_date=START, catchup=False):
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "b")
    a, b = DummyOperator(task_id="a"), DummyOperator(task_id="b")
    join = DummyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    pick >> [a, b] >> join
