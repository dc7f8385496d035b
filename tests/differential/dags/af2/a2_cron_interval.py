"""schedule_interval="@daily": a manual run's data interval on Airflow 2."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(**context):
    rec(context, "interval", [context["data_interval_start"], context["data_interval_end"]])
    rec(context, "prev_ds", context["prev_ds"])


with DAG("a2_cron_interval", schedule_interval="@daily", start_date=START, catchup=False):
    PythonOperator(task_id="look", python_callable=look)
