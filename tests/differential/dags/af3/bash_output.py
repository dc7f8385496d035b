"""The last line of a BashOperator's output is its XCom; a template in the command renders."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("bash_output", schedule=None, start_date=START, catchup=False):
    lines = BashOperator(task_id="lines", bash_command="echo first; echo 'day {{ ds }}'")
    quiet = BashOperator(task_id="quiet", bash_command="true")

    @task
    def see(a, b, **context):
        rec(context, "values", [a, b])

    see(lines.output, quiet.output)
