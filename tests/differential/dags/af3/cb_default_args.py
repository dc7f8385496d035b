"""Callbacks given in default_args apply to every task."""

from airflow.sdk import DAG, task
from difrec import START, callback

args = {
    "on_success_callback": callback("task_success"),
    "on_failure_callback": callback("task_failure"),
}
with DAG("cb_default_args", schedule=None, start_date=START, catchup=False, default_args=args):

    @task
    def good():
        return 1

    @task(trigger_rule="all_done")
    def bad():
        raise RuntimeError("bad")

    good() >> bad()
