"""AirflowSkipException and AirflowFailException from a PythonOperator's callable."""

from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from difrec import START


def skip():
    raise AirflowSkipException("skip")


def fail():
    raise AirflowFailException("fail")


with DAG("skip_in_classic", schedule=None, start_date=START, catchup=False):
    PythonOperator(task_id="skips", python_callable=skip, retries=2)
    PythonOperator(task_id="fails", python_callable=fail, retries=2)
