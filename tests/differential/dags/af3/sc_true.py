"""A truthy short circuit lets everything run and its value is its XCom."""

from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("sc_true", schedule=None, start_date=START, catchup=False):
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: {"go": 1})

    @task
    def after(value, **context):
        rec(context, "value", value)

    after(gate.output)
