"""A short circuit returning a falsy value skips everything below it."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("sc_false", schedule=None, start_date=START, catchup=False):

    @task.short_circuit
    def gate():
        return []

    a = EmptyOperator(task_id="a")
    gate() >> a >> EmptyOperator(task_id="b") >> EmptyOperator(task_id="c", trigger_rule="all_done")
