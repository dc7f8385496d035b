"""A name no one defined fails the try (StrictUndefined)."""

from airflow.sdk import DAG, task
from difrec import START

with DAG("tpl_undefined", schedule=None, start_date=START, catchup=False):

    @task
    def look(value):
        return value

    look("{{ no_such_name }}")
