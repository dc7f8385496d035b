"""@setup and @teardown: the teardown runs last; the run succeeds with the work."""

from airflow.sdk import DAG, setup, task, teardown
from difrec import START, rec

with DAG("st_decorators", schedule=None, start_date=START, catchup=False):

    @setup
    def make(**context):
        rec(context, "step", "setup")

    @task
    def work(**context):
        rec(context, "step", "work")

    @teardown
    def clean(**context):
        rec(context, "step", "teardown")

    s = make()
    s >> work() >> clean()
