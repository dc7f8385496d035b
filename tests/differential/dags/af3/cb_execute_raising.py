"""An on_execute_callback that raises does not stop the try."""

from airflow.sdk import DAG, task
from difrec import START, rec


def explode(context):
    raise RuntimeError("callback broke")


with DAG("cb_execute_raising", schedule=None, start_date=START, catchup=False):

    @task(on_execute_callback=explode)
    def work(**context):
        rec(context, "ran", True)

    work()
