"""xcom_pull of a mapped task: every value, and one by map_indexes."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_pull_indexes", schedule=None, start_date=START, catchup=False):

    @task
    def square(x):
        return x * x

    @task
    def pull(**context):
        ti = context["ti"]
        rec(context, "all", list(ti.xcom_pull(task_ids="square")))
        rec(context, "one", ti.xcom_pull(task_ids="square", map_indexes=1))

    square.expand(x=[1, 2, 3]) >> pull()
