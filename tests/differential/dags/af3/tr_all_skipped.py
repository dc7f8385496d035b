"""Trigger rule all_skipped after each mix of success, failure and skip (Airflow 3 spelling)."""

from airflow.exceptions import AirflowSkipException
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("tr_all_skipped", schedule=None, start_date=START, catchup=False):

    @task
    def ok():
        return "ok"

    @task
    def bad():
        raise ValueError("bad")

    # The skip comes after the failure, always: a rule that sees both (all_success sees
    # whichever ends first) then has one answer on every scheduler.
    @task(trigger_rule="all_done")
    def skp():
        raise AirflowSkipException("skip")

    o, b = ok(), bad()
    s = skp()
    [o, b] >> s
    mixes = {
        "after_ok": [o],
        "after_bad": [b],
        "after_skp": [s],
        "after_ok_bad": [o, b],
        "after_ok_skp": [o, s],
        "after_bad_skp": [b, s],
        "after_all": [o, b, s],
    }
    for name, upstream in mixes.items():
        upstream >> EmptyOperator(task_id=name, trigger_rule="all_skipped")
