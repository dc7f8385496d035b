"""Sensors: tasks that wait for a condition (a file, a query, an endpoint, a time, a task)."""

from conveyor.sensors.base import BaseSensor, Reschedule, SensorTimeout
from conveyor.sensors.external_task import ExternalTaskSensor
from conveyor.sensors.file import FileSensor
from conveyor.sensors.http import HttpSensor
from conveyor.sensors.sql import SqlSensor
from conveyor.sensors.time import DateTimeSensor, TimeSensor

__all__ = [
    "BaseSensor",
    "DateTimeSensor",
    "ExternalTaskSensor",
    "FileSensor",
    "HttpSensor",
    "Reschedule",
    "SensorTimeout",
    "SqlSensor",
    "TimeSensor",
]
