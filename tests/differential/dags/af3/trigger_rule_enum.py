"""TriggerRule members work as trigger_rule= values."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TriggerRule, task
from difrec import START

with DAG("trigger_rule_enum", schedule=None, start_date=START, catchup=False):

    @task
    def bad():
        raise RuntimeError("bad")

    bad() >> [
        EmptyOperator(task_id="on_failure", trigger_rule=TriggerRule.ONE_FAILED),
        EmptyOperator(task_id="on_success", trigger_rule=TriggerRule.ALL_SUCCESS),
    ]
