"""A returned value reaches the next task as an argument and through xcom_pull."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_return", schedule=None, start_date=START, catchup=False):

    @task
    def make():
        return {"rows": [1, 2], "name": "x"}

    @task
    def use(value, **context):
        rec(context, "arg", value)
        rec(context, "pulled", context["ti"].xcom_pull(task_ids="make"))
        rec(context, "pulled_list", context["ti"].xcom_pull(task_ids=["make"]))

    use(make())
