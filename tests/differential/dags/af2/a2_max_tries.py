"""ti.max_tries and try_number on Airflow 2."""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(**context):
    ti = context["ti"]
    rec(context, "tries", [ti.try_number, ti.max_tries])
    if ti.try_number == 1:
        raise RuntimeError("again")


with DAG("a2_max_tries", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="look", python_callable=look, retries=2, retry_delay=timedelta(seconds=1)
    )
