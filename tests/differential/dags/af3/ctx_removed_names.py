"""Airflow 3 has no execution_date, next_ds, tomorrow_ds... in the context."""

from airflow.sdk import DAG, task
from difrec import START, rec

REMOVED = [
    "execution_date",
    "next_ds",
    "prev_ds",
    "tomorrow_ds",
    "yesterday_ds",
    "next_execution_date",
]

with DAG("ctx_removed_names", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        rec(context, "present", [name for name in REMOVED if name in context])

    look()
