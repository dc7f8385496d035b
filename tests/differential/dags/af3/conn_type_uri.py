"""A postgres connection's conn_type and get_uri()."""

from airflow.sdk import DAG, BaseHook, task
from difrec import START, rec

with DAG("conn_type_uri", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        conn = BaseHook.get_connection("diffsuite_pg")
        rec(context, "conn_type", conn.conn_type)
        rec(context, "uri", conn.get_uri())

    look()
