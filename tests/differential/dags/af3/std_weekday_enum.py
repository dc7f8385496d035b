"""BranchDayOfWeekOperator and DayOfWeekSensor given WeekDay members (a set, and one)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator
from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
from airflow.providers.standard.utils.weekday import WeekDay
from airflow.sdk import DAG
from difrec import START

with DAG("std_weekday_enum", schedule=None, start_date=START, catchup=False):
    pick = BranchDayOfWeekOperator(
        task_id="pick",
        week_day={WeekDay.WEDNESDAY, WeekDay.THURSDAY},
        follow_task_ids_if_true="midweek",
        follow_task_ids_if_false="other",
        use_task_logical_date=True,
    )
    pick >> [EmptyOperator(task_id="midweek"), EmptyOperator(task_id="other")]
    DayOfWeekSensor(task_id="sensor", week_day=WeekDay.THURSDAY, use_task_logical_date=True)
