"""Airflow 2's older trigger rule names: none_failed_or_skipped after a skipped task, and
dummy after a failed one."""

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from difrec import START


def fail():
    raise ValueError("down")


def skip():
    raise AirflowSkipException("not today")


with DAG("a2_trigger_rule_aliases", schedule_interval=None, start_date=START, catchup=False):
    ok = EmptyOperator(task_id="ok")
    skipped = PythonOperator(task_id="skipped", python_callable=skip)
    failed = PythonOperator(task_id="failed", python_callable=fail)
    [ok, skipped] >> EmptyOperator(task_id="after_skip", trigger_rule="none_failed_or_skipped")
    [ok, failed] >> EmptyOperator(task_id="after_fail", trigger_rule="dummy")
