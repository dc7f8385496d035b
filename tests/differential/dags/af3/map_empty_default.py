"""An empty expansion skips the mapped task and default-rule tasks after it."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("map_empty_default", schedule=None, start_date=START, catchup=False):

    @task
    def work(x):
        return x

    work.expand(x=[]) >> EmptyOperator(task_id="after")
