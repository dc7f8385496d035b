"""skip_on_exit_code=5 (an int) skips on exit 5."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from difrec import START

with DAG("bash_skip_int", schedule=None, start_date=START, catchup=False):
    BashOperator(task_id="five", bash_command="exit 5", skip_on_exit_code=5)
