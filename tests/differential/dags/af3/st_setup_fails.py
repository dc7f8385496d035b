"""A failed setup: the work is upstream_failed, and so is its teardown."""

from airflow.sdk import DAG, setup, task, teardown
from difrec import START

with DAG("st_setup_fails", schedule=None, start_date=START, catchup=False):

    @setup
    def make():
        raise RuntimeError("no cluster")

    @task
    def work():
        return 1

    @teardown
    def clean():
        return 2

    s = make()
    s >> work() >> clean()
