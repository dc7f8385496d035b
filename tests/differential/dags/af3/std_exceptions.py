"""Exceptions a task raises: AirflowFailException fails without a retry, AirflowException
retries, AirflowSkipException skips, AirflowSensorTimeout fails without a retry; the classes
are the ones airflow.exceptions names."""

import datetime as dt

from airflow.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "std_exceptions",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=0)},
):

    @task
    def fail_now(**context):
        rec(context, "try", context["ti"].try_number)
        raise AirflowFailException("no retry")

    @task
    def retried(**context):
        rec(context, "try", context["ti"].try_number)
        raise AirflowException("retry me")

    @task
    def skipped(**context):
        rec(context, "try", context["ti"].try_number)
        raise AirflowSkipException("skip")

    @task
    def sensor_timeout(**context):
        rec(context, "try", context["ti"].try_number)
        raise AirflowSensorTimeout("gave up")

    @task
    def bases(**context):
        rec(context, "fail_is_airflow", issubclass(AirflowFailException, AirflowException))
        rec(context, "skip_is_airflow", issubclass(AirflowSkipException, AirflowException))
        rec(context, "timeout_is_airflow", issubclass(AirflowSensorTimeout, AirflowException))

    fail_now()
    retried()
    skipped()
    sensor_timeout()
    bases()
