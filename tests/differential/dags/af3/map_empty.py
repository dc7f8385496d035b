"""An empty expansion: the mapped task is skipped; all_done and none_failed tasks get []."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_empty", schedule=None, start_date=START, catchup=False):

    @task
    def nothing():
        return []

    @task
    def work(x):
        return x

    @task(trigger_rule="all_done")
    def after_done(values, **context):
        rec(context, "values", list(values))

    @task(trigger_rule="none_failed")
    def after_none_failed(values, **context):
        rec(context, "values", list(values))

    mapped = work.expand(x=nothing())
    after_done(mapped)
    after_none_failed(mapped)
