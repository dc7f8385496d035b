"""skip_on_exit_code=[3, 4]: exit 3 skips; exit 99 then fails."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from difrec import START

with DAG("bash_skip_list", schedule=None, start_date=START, catchup=False):
    BashOperator(task_id="three", bash_command="exit 3", skip_on_exit_code=[3, 4])
    BashOperator(task_id="ninety_nine", bash_command="exit 99", skip_on_exit_code=[3, 4])
