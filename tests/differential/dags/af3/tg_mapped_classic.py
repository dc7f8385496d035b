"""A classic operator inside a mapped task group runs once per element on Airflow."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task, task_group
from difrec import START, rec

with DAG("tg_mapped_classic", schedule=None, start_date=START, catchup=False):

    @task
    def show(x, **context):
        rec(context, "x", x)

    @task_group
    def each(x):
        show(x) >> BashOperator(task_id="echo", bash_command="echo hi")

    each.expand(x=[1, 2])
