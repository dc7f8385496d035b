"""A failure callback sees the exception, the task id and the try number."""

from airflow.sdk import DAG, task
from difrec import START, rec


def failed(context):
    error = context["exception"]
    rec(context, "exception", [type(error).__name__, str(error)])
    rec(context, "task_id", context["ti"].task_id)
    rec(context, "try_number", context["ti"].try_number)


with DAG("cb_failure_context", schedule=None, start_date=START, catchup=False):

    @task(on_failure_callback=failed)
    def breaks():
        raise KeyError("missing")

    breaks()
