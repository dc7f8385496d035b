"""A mapped instance that skips itself; the others succeed."""

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_one_skips", schedule=None, start_date=START, catchup=False):

    @task
    def check(x):
        if x == 2:
            raise AirflowSkipException("two")
        return x

    @task(trigger_rule="none_failed")
    def gather(values, **context):
        rec(context, "values", list(values))

    gather(check.expand(x=[1, 2, 3]))
