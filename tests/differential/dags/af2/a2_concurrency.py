"""Airflow 2's DAG(concurrency=...) is max_active_tasks: a task reads it from its DAG."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(**context):
    rec(context, "max_active_tasks", context["dag"].max_active_tasks)


with DAG("a2_concurrency", schedule_interval=None, start_date=START, catchup=False, concurrency=2):
    PythonOperator(task_id="look", python_callable=look)
