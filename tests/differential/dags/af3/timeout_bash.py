"""A BashOperator past execution_timeout fails."""

from datetime import timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from difrec import START

with DAG("timeout_bash", schedule=None, start_date=START, catchup=False):
    BashOperator(task_id="slow", bash_command="sleep 8", execution_timeout=timedelta(seconds=1))
