"""The DAG's on_success_callback runs once the run succeeded, with the run's reason."""

from airflow.sdk import DAG, task
from difrec import START, rec_dag


def done(context):
    rec_dag(context, "callback", "dag_success")
    rec_dag(context, "reason", context.get("reason"))


with DAG(
    "cb_dag_success", schedule=None, start_date=START, catchup=False, on_success_callback=done
):

    @task
    def work():
        return 1

    work()
