"""A user macro named like a context value loses to the context."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "tpl_user_macro_ds",
    schedule=None,
    start_date=START,
    catchup=False,
    user_defined_macros={"ds": "not-a-date"},
):

    @task
    def look(value, **context):
        rec(context, "ds", value)

    look("{{ ds }}")
