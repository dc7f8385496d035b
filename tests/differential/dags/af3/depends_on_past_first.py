"""depends_on_past=True on a DAG's first run runs the task."""

from airflow.sdk import DAG, task
from difrec import START

with DAG("depends_on_past_first", schedule=None, start_date=START, catchup=False):

    @task(depends_on_past=True)
    def work():
        return 1

    work()
