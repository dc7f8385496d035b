"""ignore_downstream_trigger_rules=False skips only the direct downstream tasks."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("sc_respect_rules", schedule=None, start_date=START, catchup=False):

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def gate():
        return False

    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b", trigger_rule="all_done")
    c = EmptyOperator(task_id="c")
    gate() >> a >> b >> c
