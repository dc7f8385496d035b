"""append_env=True adds env= to the worker's environment."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("bash_append_env", schedule=None, start_date=START, catchup=False):
    both = BashOperator(
        task_id="both",
        bash_command='echo "$MINE/${AIRFLOW_VAR_DIFFSUITE_GREETING:-unset}"',
        env={"MINE": "mine"},
        append_env=True,
    )

    @task
    def see(value, **context):
        rec(context, "value", value)

    see(both.output)
