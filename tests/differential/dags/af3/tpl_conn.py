"""{{ conn.ID.field }} reads a connection's fields."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("tpl_conn", schedule=None, start_date=START, catchup=False):

    @task
    def look(values, **context):
        rec(context, "values", values)

    look(
        [
            "{{ conn.diffsuite_pg.host }}",
            "{{ conn.diffsuite_pg.port }}",
            "{{ conn.diffsuite_pg.login }}",
            "{{ conn.diffsuite_pg.schema }}",
        ]
    )
