"""A work task fails; its teardown with on_failure_fail_dagrun=True succeeds."""

from airflow.sdk import DAG, setup, task, teardown
from difrec import START

with DAG("st_teardown_hides_failure", schedule=None, start_date=START, catchup=False):

    @setup
    def make():
        return 1

    @task
    def work():
        raise RuntimeError("job failed")

    @teardown(on_failure_fail_dagrun=True)
    def clean():
        return 2

    make() >> work() >> clean()
