"""none_failed_or_skipped and dummy, Airflow 2's rule names."""

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.dummy import DummyOperator
from airflow.operators.python import PythonOperator
from difrec import START


def skip():
    raise AirflowSkipException("skip")


with DAG("a2_old_rules", schedule_interval=None, start_date=START, catchup=False):
    ok = DummyOperator(task_id="ok")
    skp = PythonOperator(task_id="skp", python_callable=skip)
    [ok, skp] >> DummyOperator(task_id="join", trigger_rule="none_failed_or_skipped")
    skp >> DummyOperator(task_id="anyway", trigger_rule="dummy")
