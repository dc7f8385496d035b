"""The DAG's on_failure_callback is called when a task fails (whatever its reason text)."""

from airflow.sdk import DAG, task
from difrec import START, rec_dag


def failed(context):
    rec_dag(context, "callback", "dag_failure")
    rec_dag(context, "run_id_kind", context["dag_run"].run_id.split("__")[0])


with DAG(
    "cb_dag_failure_called",
    schedule=None,
    start_date=START,
    catchup=False,
    on_failure_callback=failed,
):

    @task
    def work():
        raise RuntimeError("broken")

    work()
