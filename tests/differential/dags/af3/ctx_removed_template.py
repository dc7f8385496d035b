"""{{ execution_date }} in an Airflow 3 file fails the try."""

from airflow.sdk import DAG, task
from difrec import START

with DAG("ctx_removed_template", schedule=None, start_date=START, catchup=False):

    @task
    def look(value):
        return value

    look("{{ execution_date }}")
