"""get_current_context() inside a helper function gives the running task's context."""

from airflow.sdk import DAG, get_current_context, task
from difrec import START, rec


def helper():
    context = get_current_context()
    rec(context, "task_id", context["ti"].task_id)
    rec(context, "ds", context["ds"])


with DAG("ctx_get_current_context", schedule=None, start_date=START, catchup=False):

    @task
    def work():
        helper()

    work()
