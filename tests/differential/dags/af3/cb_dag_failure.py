"""The DAG's on_failure_callback runs once the run failed; its reason text."""

from airflow.sdk import DAG, task
from difrec import START, rec_dag


def failed(context):
    rec_dag(context, "callback", "dag_failure")
    rec_dag(context, "reason", context.get("reason"))


with DAG(
    "cb_dag_failure", schedule=None, start_date=START, catchup=False, on_failure_callback=failed
):

    @task
    def work():
        raise RuntimeError("broken")

    work()
