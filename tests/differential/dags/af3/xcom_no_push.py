"""do_xcom_push=False stores no return value."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_no_push", schedule=None, start_date=START, catchup=False):
    make = PythonOperator(task_id="make", python_callable=lambda: 41, do_xcom_push=False)

    @task
    def use(**context):
        rec(context, "pulled", context["ti"].xcom_pull(task_ids="make"))

    make >> use()
