"""BranchDayOfWeekOperator on the logical date (2026-01-01 is a Thursday)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator
from airflow.sdk import DAG
from difrec import START

with DAG("br_day_of_week", schedule=None, start_date=START, catchup=False):
    pick = BranchDayOfWeekOperator(
        task_id="pick",
        week_day={"THURSDAY"},
        follow_task_ids_if_true="thursday",
        follow_task_ids_if_false="other_day",
        use_task_logical_date=True,
    )
    pick >> [EmptyOperator(task_id="thursday"), EmptyOperator(task_id="other_day")]
