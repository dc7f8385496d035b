"""Airflow 2's BashOperator: exit codes, env without append_env."""

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from difrec import START, rec


def see(value, **context):
    rec(context, "value", value)


with DAG("a2_bash", schedule_interval=None, start_date=START, catchup=False):
    BashOperator(task_id="skip99", bash_command="exit 99")
    BashOperator(task_id="skip3", bash_command="exit 3", skip_on_exit_code=[3])
    env = BashOperator(
        task_id="env",
        bash_command='echo "$MINE/${AIRFLOW_VAR_DIFFSUITE_GREETING:-unset}"',
        env={"MINE": "m"},
    )
    env >> PythonOperator(
        task_id="see", python_callable=see, op_args=["{{ ti.xcom_pull(task_ids='env') }}"]
    )
