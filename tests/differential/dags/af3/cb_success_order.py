"""on_execute_callback runs before the task, on_success_callback after it."""

from airflow.sdk import DAG, task
from difrec import START, callback, rec

with DAG("cb_success_order", schedule=None, start_date=START, catchup=False):

    @task(
        on_execute_callback=callback("task_execute"), on_success_callback=callback("task_success")
    )
    def work(**context):
        rec(context, "callback", "body")

    work()
