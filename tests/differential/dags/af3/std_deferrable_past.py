"""Deferrable sensors whose moment has passed: DateTimeSensorAsync and
TimeDeltaSensor(deferrable=True) succeed in one try."""

import datetime as dt

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG
from difrec import START

with DAG("std_deferrable_past", schedule=None, start_date=START, catchup=False):
    DateTimeSensorAsync(task_id="date_time_async", target_time="2000-01-01T00:00:00+00:00")
    TimeDeltaSensor(task_id="time_delta_deferred", delta=dt.timedelta(0), deferrable=True)
