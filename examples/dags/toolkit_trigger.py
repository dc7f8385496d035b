"""Triggering across DAGs: one DAG starts another and waits for it to finish."""

from conveyor import DAG, task
from conveyor.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("toolkit_triggered", schedule=None, tags=["example", "toolkit"], params={"day": "?"}):

    @task
    def report(params=None) -> str:
        return f"report for {params['day']}"

    report()

with DAG("toolkit_trigger", schedule=None, tags=["example", "toolkit"]):
    TriggerDagRunOperator(
        task_id="start_report",
        trigger_dag_id="toolkit_triggered",
        conf={"day": "{{ ds }}"},
        wait_for_completion=True,  # fails if the triggered run fails
        poke_interval=0.5,
    )
