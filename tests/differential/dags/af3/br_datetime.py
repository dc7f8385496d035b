"""BranchDateTimeOperator on the logical date, inside and outside its window."""

from datetime import UTC, datetime

from airflow.providers.standard.operators.datetime import BranchDateTimeOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from difrec import START

with DAG("br_datetime", schedule=None, start_date=START, catchup=False):
    pick = BranchDateTimeOperator(
        task_id="pick",
        target_lower=datetime(2025, 12, 31, tzinfo=UTC),
        target_upper=datetime(2026, 1, 2, tzinfo=UTC),
        follow_task_ids_if_true="inside",
        follow_task_ids_if_false="outside",
        use_task_logical_date=True,
    )
    pick >> [EmptyOperator(task_id="inside"), EmptyOperator(task_id="outside")]
