"""BashOperator: exit 0 succeeds, exit 1 fails, exit 99 skips (the default skip code)."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from difrec import START

with DAG("bash_exit_codes", schedule=None, start_date=START, catchup=False):
    BashOperator(task_id="zero", bash_command="exit 0")
    BashOperator(task_id="one", bash_command="exit 1")
    BashOperator(task_id="ninety_nine", bash_command="exit 99")
