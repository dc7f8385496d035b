"""XComArg.zip(..., fillvalue=) pairs lists, filling the shorter one."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_zip", schedule=None, start_date=START, catchup=False):

    @task
    def left():
        return [1, 2, 3]

    @task
    def right():
        return ["a", "b"]

    @task
    def show(pair, **context):
        rec(context, "pair", list(pair))

    show.expand(pair=left().zip(right(), fillvalue="-"))
