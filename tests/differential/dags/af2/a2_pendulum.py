"""Airflow 2's context dates are pendulum's."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, attempt


def look(**context):
    when = context["execution_date"]
    attempt(context, "add", lambda: when.add(days=1).isoformat())
    attempt(context, "to_date_string", lambda: context["logical_date"].to_date_string())


with DAG("a2_pendulum", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(task_id="look", python_callable=look)
