"""A manual run's dates under the timetables a file names (CronTriggerTimetable,
DeltaTriggerTimetable, EventsTimetable, @once): each records its logical date and data
interval."""

import datetime as dt

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.events import EventsTimetable
from airflow.timetables.trigger import CronTriggerTimetable, DeltaTriggerTimetable
from difrec import START, rec

SCHEDULES = {
    "std_tt_cron_trigger": CronTriggerTimetable("0 3 * * *", timezone="UTC"),
    "std_tt_delta_trigger": DeltaTriggerTimetable(dt.timedelta(hours=6)),
    "std_tt_events": EventsTimetable(
        event_dates=[pendulum.datetime(2025, 6, 1), pendulum.datetime(2026, 6, 1)]
    ),
    "std_tt_once": "@once",
}


@task
def dates(**context):
    for key in ("logical_date", "data_interval_start", "data_interval_end", "ds"):
        rec(context, key, context[key])


for dag_id, schedule in SCHEDULES.items():
    with DAG(dag_id, schedule=schedule, start_date=START, catchup=False):
        dates()
