"""multiple_outputs=True makes each key an XCom of its own; ["key"] picks one."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_multiple_outputs", schedule=None, start_date=START, catchup=False):

    @task(multiple_outputs=True)
    def make():
        return {"a": 1, "b": [2, 3]}

    @task
    def use(a, b, **context):
        rec(context, "args", [a, b])
        rec(context, "by_key", context["ti"].xcom_pull(task_ids="make", key="b"))

    out = make()
    use(out["a"], out["b"])
