"""xcom_pull(default=) for a task with no value; an explicit dag_id and key."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_pull_default", schedule=None, start_date=START, catchup=False):

    @task
    def empty():
        return None

    @task
    def pull(**context):
        ti = context["ti"]
        rec(context, "none", ti.xcom_pull(task_ids="empty"))
        rec(context, "default", ti.xcom_pull(task_ids="nope", default=5))
        rec(context, "explicit", ti.xcom_pull(task_ids="empty", dag_id="xcom_pull_default"))

    empty() >> pull()
