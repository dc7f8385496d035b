"""A manual run's dates under more timetables a file names: the data-interval timetables
given as objects, MultipleCronTriggerTimetable, an asset schedule, and AssetOrTimeSchedule."""

import datetime as dt

from airflow.sdk import DAG, Asset, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable
from difrec import START, rec

SCHEDULES = {
    "std_tt_cron_data_interval": CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    "std_tt_delta_data_interval": DeltaDataIntervalTimetable(dt.timedelta(hours=6)),
    "std_tt_multiple_cron": MultipleCronTriggerTimetable("0 3 * * *", "0 15 * * *", timezone="UTC"),
    "std_tt_asset": [Asset("s3://diffsuite/tt")],
    "std_tt_asset_or_time": AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
        assets=[Asset("s3://diffsuite/tt")],
    ),
}


@task
def dates(**context):
    for key in ("logical_date", "data_interval_start", "data_interval_end", "ds"):
        rec(context, key, context[key])
    rec(context, "run_type", str(context["dag_run"].run_type))


for dag_id, schedule in SCHEDULES.items():
    with DAG(dag_id, schedule=schedule, start_date=START, catchup=False):
        dates()
