"""A command whose last step fails fails the task; `set -e` is not implied."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from difrec import START

with DAG("bash_stderr_fail", schedule=None, start_date=START, catchup=False):
    BashOperator(task_id="middle_fails", bash_command="false; echo after")
    BashOperator(task_id="last_fails", bash_command="echo before; false")
