"""xcom_push under a key, pulled by key; a missing key and task give None."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_keys", schedule=None, start_date=START, catchup=False):

    @task
    def push(**context):
        context["ti"].xcom_push(key="count", value=7)

    @task
    def pull(**context):
        ti = context["ti"]
        rec(context, "count", ti.xcom_pull(task_ids="push", key="count"))
        rec(context, "return", ti.xcom_pull(task_ids="push"))
        rec(context, "missing_key", ti.xcom_pull(task_ids="push", key="nope"))
        rec(context, "missing_task", ti.xcom_pull(task_ids="nope"))

    push() >> pull()
