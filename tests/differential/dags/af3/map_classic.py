"""A classic operator mapped with partial/expand."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_classic", schedule=None, start_date=START, catchup=False):
    echo = BashOperator.partial(task_id="echo").expand(bash_command=["echo one", "echo two"])

    @task
    def see(values, **context):
        rec(context, "values", list(values))

    see(echo.output)
