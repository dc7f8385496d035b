"""``from conveyor.timetables import CronTriggerTimetable``: Airflow's timetables, Conveyor's way.

Airflow DAG files reach the same classes as ``airflow.timetables...`` and ``airflow.sdk``.
See :mod:`conveyor.model.timetables` (cron and delta, trigger and data-interval),
:mod:`conveyor.model.event_timetables` (a list of moments; datasets or time),
:mod:`conveyor.model.partitioned_timetables` (partitions of data, with
:mod:`conveyor.model.partition_mappers`) and
:mod:`conveyor.model.timetable_protocol` (a timetable class of your own).
"""

from conveyor.model.event_timetables import AssetOrTimeSchedule, EventsTimetable
from conveyor.model.partition_mappers import (
    AllowedKeyMapper,
    ChainMapper,
    FixedKeyMapper,
    IdentityMapper,
    PartitionMapper,
    ProductMapper,
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfWeekMapper,
    StartOfYearMapper,
)
from conveyor.model.partitioned_timetables import CronPartitionTimetable, PartitionedAssetTimetable
from conveyor.model.timetable_protocol import DagRunInfo, DataInterval, TimeRestriction, Timetable
from conveyor.model.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    MultipleCronTriggerTimetable,
)

__all__ = [
    "AllowedKeyMapper",
    "AssetOrTimeSchedule",
    "ChainMapper",
    "CronDataIntervalTimetable",
    "CronPartitionTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DataInterval",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "EventsTimetable",
    "FixedKeyMapper",
    "IdentityMapper",
    "MultipleCronTriggerTimetable",
    "PartitionMapper",
    "PartitionedAssetTimetable",
    "ProductMapper",
    "StartOfDayMapper",
    "StartOfHourMapper",
    "StartOfMonthMapper",
    "StartOfQuarterMapper",
    "StartOfWeekMapper",
    "StartOfYearMapper",
    "TimeRestriction",
    "Timetable",
]
