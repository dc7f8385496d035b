"""An Airflow 2 DAG's schedule_interval attribute, read at the top of the file."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec

with DAG(
    "a2_schedule_interval_attr", schedule_interval="@daily", start_date=START, catchup=False
) as dag:
    SCHEDULE = dag.schedule_interval

    def look(**context):
        rec(context, "schedule_interval", SCHEDULE)

    PythonOperator(task_id="look", python_callable=look)
