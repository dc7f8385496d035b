"""on_failure_fail_dagrun=True: a failing teardown fails the run."""

from airflow.sdk import DAG, setup, task, teardown
from difrec import START

with DAG("st_fail_dagrun", schedule=None, start_date=START, catchup=False):

    @setup
    def make():
        return 1

    @task
    def work():
        return 2

    @teardown(on_failure_fail_dagrun=True)
    def clean():
        raise RuntimeError("cleanup broke")

    make() >> work() >> clean()
