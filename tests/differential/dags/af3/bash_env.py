"""env= alone replaces the worker's environment (append_env defaults to False)."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("bash_env", schedule=None, start_date=START, catchup=False):
    only = BashOperator(
        task_id="only",
        bash_command='echo "$MINE/${AIRFLOW_VAR_DIFFSUITE_GREETING:-unset}"',
        env={"MINE": "mine"},
    )

    @task
    def see(value, **context):
        rec(context, "value", value)

    see.override(task_id="see_only")(only.output)
