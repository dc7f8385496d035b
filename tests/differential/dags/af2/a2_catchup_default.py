"""An Airflow 2 DAG that does not say catchup= (Airflow 2's default is True)."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(**context):
    rec(context, "catchup", context["dag"].catchup)


with DAG("a2_catchup_default", schedule_interval=None, start_date=START):
    PythonOperator(task_id="look", python_callable=look)
