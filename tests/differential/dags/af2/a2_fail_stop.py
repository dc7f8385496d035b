"""fail_stop=True (Airflow 2's name for fail_fast)."""

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from difrec import START


def bad():
    raise RuntimeError("bad")


with DAG("a2_fail_stop", schedule_interval=None, start_date=START, catchup=False, fail_stop=True):
    b = PythonOperator(task_id="bad", python_callable=bad)
    b >> EmptyOperator(task_id="after")
