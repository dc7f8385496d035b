"""Sensors: tasks that wait for a condition (a file, a query, an endpoint, a time, a task,
a command, a callable, a day of the week)."""

from conveyor.exceptions import Reschedule
from conveyor.sensors.base import BaseSensor, PokeReturnValue, SensorTimeout
from conveyor.sensors.bash import BashSensor
from conveyor.sensors.external_task import ExternalTaskSensor
from conveyor.sensors.file import FileSensor
from conveyor.sensors.http import HttpSensor
from conveyor.sensors.python import PythonSensor
from conveyor.sensors.sql import SqlSensor
from conveyor.sensors.time import (
    DateTimeSensor,
    DateTimeSensorAsync,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
    TimeSensor,
)
from conveyor.sensors.weekday import DayOfWeekSensor, WeekDay

__all__ = [
    "BaseSensor",
    "BashSensor",
    "DateTimeSensor",
    "DateTimeSensorAsync",
    "DayOfWeekSensor",
    "ExternalTaskSensor",
    "FileSensor",
    "HttpSensor",
    "PokeReturnValue",
    "PythonSensor",
    "Reschedule",
    "SensorTimeout",
    "SqlSensor",
    "TimeDeltaSensor",
    "TimeDeltaSensorAsync",
    "TimeSensor",
    "WeekDay",
]
