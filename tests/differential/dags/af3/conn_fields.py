"""A connection from AIRFLOW_CONN_*: its fields."""

from airflow.sdk import DAG, BaseHook, task
from difrec import START, rec

with DAG("conn_fields", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        conn = BaseHook.get_connection("diffsuite_pg")
        rec(context, "fields", [conn.host, conn.port, conn.login, conn.password, conn.schema])
        rec(context, "extra", conn.extra_dejson)

    look()
