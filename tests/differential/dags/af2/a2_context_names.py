"""Airflow 2's context names: execution_date, next_ds, prev_ds, tomorrow_ds, yesterday_ds."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec

NAMES = ["ds", "execution_date", "next_ds", "prev_ds", "tomorrow_ds", "yesterday_ds", "ts_nodash"]


def look(**context):
    for name in NAMES:
        rec(context, name, context[name])


with DAG("a2_context_names", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(task_id="look", python_callable=look)
