"""A failing teardown does not fail the run by default."""

from airflow.sdk import DAG, setup, task, teardown
from difrec import START

with DAG("st_teardown_fails", schedule=None, start_date=START, catchup=False):

    @setup
    def make():
        return 1

    @task
    def work():
        return 2

    @teardown
    def clean():
        raise RuntimeError("cleanup broke")

    make() >> work() >> clean()
