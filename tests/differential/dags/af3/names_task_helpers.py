"""Helpers of Airflow's core a task calls: the parsing context, redaction, a timeout,
a poke-only sensor, the context's variables and a literal template."""

import time

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, BaseSensorOperator, get_parsing_context, literal, task
from airflow.sdk.bases.sensor import poke_mode_only
from airflow.sdk.exceptions import AirflowTaskTimeout
from airflow.sdk.execution_time.context import (
    AIRFLOW_VAR_NAME_FORMAT_MAPPING,
    context_to_airflow_vars,
)
from airflow.sdk.execution_time.timeout import timeout
from airflow.sdk.log import redact
from difrec import START, attempt, rec


@poke_mode_only
class Ready(BaseSensorOperator):
    def poke(self, context):
        return True


def _timed_out():
    try:
        with timeout(1, "too slow"):
            time.sleep(5)
    except AirflowTaskTimeout as exc:
        return ["AirflowTaskTimeout", str(exc).startswith("too slow")]
    return "not stopped"


with DAG("names_task_helpers", schedule=None, start_date=START, catchup=False):

    @task
    def helpers(**context):
        parsing = get_parsing_context()
        # Which DAG a `dags test` parse is for differs with how the command is run: the kind
        # and the task (None: every task) are what both give.
        rec(context, "parsing", [type(parsing).__name__, parsing.task_id])
        rec(context, "redact", redact({"password": "p4ss-word", "user": "bob", "n": 3}))
        rec(context, "redact_named", redact("some text", "api_key"))
        rec(context, "timeout", _timed_out())
        attempt(context, "poke_only", lambda: Ready(task_id="again", mode="reschedule").mode)
        rec(context, "mapping", AIRFLOW_VAR_NAME_FORMAT_MAPPING["AIRFLOW_CONTEXT_DAG_RUN_ID"])
        found = context_to_airflow_vars(context)
        rec(context, "vars", sorted(found))

    kept = BashOperator(task_id="kept", bash_command=literal("echo '{{ ds }}'"))

    @task
    def see(value, **context):
        rec(context, "literal", value)

    helpers() >> see(kept.output)
