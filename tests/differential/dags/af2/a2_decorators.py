"""airflow.decorators: @dag, @task, expand."""

from airflow.decorators import dag, task
from difrec import START, rec


@dag(schedule_interval=None, start_date=START, catchup=False)
def a2_decorators():
    @task
    def double(x):
        return 2 * x

    @task
    def total(values, **context):
        rec(context, "values", list(values))

    total(double.expand(x=[1, 2]))


a2_decorators()
