"""A teardown runs after its setup and work even when the work failed."""

from airflow.sdk import DAG, task
from difrec import START

with DAG("st_work_fails", schedule=None, start_date=START, catchup=False):

    @task
    def create():
        return "cluster"

    @task
    def work():
        raise RuntimeError("job failed")

    @task
    def delete():
        return "deleted"

    c, d = create(), delete()
    c >> work() >> d.as_teardown(setups=c)
