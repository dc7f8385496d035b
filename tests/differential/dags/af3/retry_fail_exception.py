"""AirflowFailException fails the task at once, whatever its retries."""

from datetime import timedelta

from airflow.exceptions import AirflowFailException
from airflow.sdk import DAG, task
from difrec import START

with DAG("retry_fail_exception", schedule=None, start_date=START, catchup=False):

    @task(retries=3, retry_delay=timedelta(seconds=1))
    def give_up():
        raise AirflowFailException("do not retry")

    give_up()
