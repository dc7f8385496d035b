"""ti.max_tries is the task's retries."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_max_tries", schedule=None, start_date=START, catchup=False):

    @task(retries=2)
    def look(**context):
        rec(context, "max_tries", context["ti"].max_tries)

    look()
