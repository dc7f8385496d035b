"""A list of callbacks runs in its order."""

from airflow.sdk import DAG, task
from difrec import START, callback

with DAG("cb_list", schedule=None, start_date=START, catchup=False):

    @task(on_success_callback=[callback("task_first"), callback("task_second")])
    def work():
        return 1

    work()
