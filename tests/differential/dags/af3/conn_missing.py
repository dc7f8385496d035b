"""A missing connection fails the try."""

from airflow.sdk import DAG, BaseHook, task
from difrec import START

with DAG("conn_missing", schedule=None, start_date=START, catchup=False):

    @task
    def look():
        BaseHook.get_connection("diffsuite_nowhere")

    look()
