"""A skip travels down default-rule tasks and stops at none_failed and all_done ones."""

from airflow.exceptions import AirflowSkipException
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("skip_propagation", schedule=None, start_date=START, catchup=False):

    @task
    def skp():
        raise AirflowSkipException("nothing to do")

    first = EmptyOperator(task_id="first")
    second = EmptyOperator(task_id="second")
    lenient = EmptyOperator(task_id="lenient", trigger_rule="none_failed")
    done = EmptyOperator(task_id="done", trigger_rule="all_done")
    after_lenient = EmptyOperator(task_id="after_lenient")
    skp() >> first >> second >> [lenient, done]
    lenient >> after_lenient
