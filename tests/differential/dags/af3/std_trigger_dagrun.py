"""TriggerDagRunOperator makes a run of another DAG and pushes its run id; the task succeeds
without waiting (wait_for_completion=False)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("std_trigger_target", schedule=None, start_date=START, catchup=False):
    EmptyOperator(task_id="target")

with DAG("std_trigger_dagrun", schedule=None, start_date=START, catchup=False):

    @task
    def see(**context):
        run_id = context["ti"].xcom_pull(task_ids="trigger", key="trigger_run_id")
        rec(context, "run_id_is_text", isinstance(run_id, str) and len(run_id) > 0)

    (
        TriggerDagRunOperator(
            task_id="trigger",
            trigger_dag_id="std_trigger_target",
            conf={"from": "suite"},
        )
        >> see()
    )
