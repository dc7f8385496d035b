"""A postgres connection's conn_type and get_uri() on Airflow 2."""

from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(**context):
    conn = BaseHook.get_connection("diffsuite_pg")
    rec(context, "conn", [conn.conn_type, conn.get_uri(), conn.host, conn.port])


with DAG("a2_conn", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(task_id="look", python_callable=look)
