"""``from conveyor.timetables import CronTriggerTimetable``: Airflow's timetables, Conveyor's way.

Airflow DAG files reach the same classes as ``airflow.timetables...`` and ``airflow.sdk``.
See :mod:`conveyor.model.timetables` (cron and delta, trigger and data-interval),
:mod:`conveyor.model.event_timetables` (a list of moments; datasets or time) and
:mod:`conveyor.model.timetable_protocol` (a timetable class of your own).
"""

from conveyor.model.event_timetables import AssetOrTimeSchedule, EventsTimetable
from conveyor.model.timetable_protocol import DagRunInfo, DataInterval, TimeRestriction, Timetable
from conveyor.model.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    MultipleCronTriggerTimetable,
)

__all__ = [
    "AssetOrTimeSchedule",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DataInterval",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "EventsTimetable",
    "MultipleCronTriggerTimetable",
    "TimeRestriction",
    "Timetable",
]
