"""conn_type and get_uri() of provider connections (no server is reached)."""

from airflow.sdk import DAG, BaseHook, task
from difrec import START, attempt, rec

NAMES = ("diffsuite_mysql_shape", "diffsuite_http_shape", "diffsuite_sqlite_shape")

with DAG("prov_conn_types", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        for name in NAMES:
            conn = BaseHook.get_connection(name)
            rec(context, name, [conn.conn_type, conn.host, conn.schema, conn.port])
            attempt(context, f"{name}_uri", conn.get_uri)
            attempt(context, f"{name}_extra", lambda conn=conn: conn.extra_dejson)

    look()
