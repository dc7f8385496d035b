"""cwd= runs the command in that folder."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("bash_cwd", schedule=None, start_date=START, catchup=False):
    where = BashOperator(task_id="where", bash_command="pwd", cwd="/")

    @task
    def see(value, **context):
        rec(context, "value", value)

    see(where.output)
