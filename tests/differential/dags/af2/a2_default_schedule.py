"""An Airflow 2 DAG without a schedule is daily: a manual run's data interval."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(**context):
    rec(context, "interval", [context["data_interval_start"], context["data_interval_end"]])
    rec(context, "ds", context["ds"])


with DAG("a2_default_schedule", start_date=START, catchup=False):
    PythonOperator(task_id="look", python_callable=look)
