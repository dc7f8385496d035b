"""A callback that raises changes no state."""

from airflow.sdk import DAG, task
from difrec import START, rec


def explode(context):
    rec(context, "callback", "task_success")
    raise RuntimeError("callback broke")


with DAG("cb_raising", schedule=None, start_date=START, catchup=False):

    @task(on_success_callback=explode)
    def work():
        return 1

    @task
    def after():
        return 2

    work() >> after()
