"""A failure makes default-rule tasks below it upstream_failed, transitively."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("fail_propagation", schedule=None, start_date=START, catchup=False):

    @task
    def bad():
        raise RuntimeError("broken")

    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    cleanup = EmptyOperator(task_id="cleanup", trigger_rule="one_failed")
    bad() >> a >> b >> cleanup
