"""Airflow's timetable modules and names, and the Conveyor object each stands for.

Data only, kept apart from ``table.py`` (which merges it into ``MODULES``) so that the
timetables are listed in one place. Airflow 3 exports them from ``airflow.sdk`` too.
"""

from __future__ import annotations

from conveyor.airflow_compat.targets import same_names

_TT = "conveyor.model.timetables"
_EVENTS = "conveyor.model.event_timetables"
_PROTOCOL = "conveyor.model.timetable_protocol"
_PARTITIONED = "conveyor.model.partitioned_timetables"
_MAPPERS = "conveyor.model.partition_mappers"
_WINDOWS = "conveyor.model.partition_windows"

_TRIGGER = same_names(
    _TT, "CronTriggerTimetable", "DeltaTriggerTimetable", "MultipleCronTriggerTimetable"
)
_INTERVAL = same_names(_TT, "CronDataIntervalTimetable", "DeltaDataIntervalTimetable")
_EVENTS_NAMES = same_names(_EVENTS, "EventsTimetable")
_ASSETS = same_names(_EVENTS, "AssetOrTimeSchedule")
_PARTITION_TIMETABLES = same_names(
    _PARTITIONED, "CronPartitionTimetable", "PartitionedAssetTimetable", "PartitionedAtRuntime"
)
#: Airflow 3.2 and 3.3's partition mappers, by the module of ``airflow.partition_mappers``
#: each is in.
_MAPPER_MODULES = {
    "base": ("PartitionMapper", "RollupMapper"),
    "identity": ("IdentityMapper",),
    "temporal": (
        "StartOfHourMapper",
        "StartOfDayMapper",
        "StartOfWeekMapper",
        "StartOfMonthMapper",
        "StartOfQuarterMapper",
        "StartOfYearMapper",
        "FanOutMapper",
    ),
    "product": ("ProductMapper",),
    "chain": ("ChainMapper",),
    "allowed_key": ("AllowedKeyMapper",),
    "fixed_key": ("FixedKeyMapper",),
}
#: Airflow 3.3's rollup windows and wait policies, by module, as the mappers'.
_WINDOW_MODULES = {
    "window": (
        "Window",
        "HourWindow",
        "DayWindow",
        "WeekWindow",
        "MonthWindow",
        "QuarterWindow",
        "YearWindow",
        "SegmentWindow",
    ),
    "wait_policy": ("WaitForAll", "MinimumCount"),
}
_MAPPERS_BY_NAME = {
    **{
        name: target
        for names in _MAPPER_MODULES.values()
        for name, target in same_names(_MAPPERS, *names).items()
    },
    **{
        name: target
        for names in _WINDOW_MODULES.values()
        for name, target in same_names(_WINDOWS, *names).items()
    },
}

#: Airflow module -> {name -> "conveyor.module:attribute"}, merged into ``table.MODULES``.
TIMETABLE_MODULES: dict[str, dict[str, str]] = {
    "airflow.timetables.base": same_names(
        _PROTOCOL, "Timetable", "DataInterval", "DagRunInfo", "TimeRestriction"
    ),
    "airflow.timetables.trigger": {
        **_TRIGGER,
        "CronPartitionTimetable": f"{_PARTITIONED}:CronPartitionTimetable",
    },
    "airflow.timetables.interval": _INTERVAL,
    "airflow.timetables.events": _EVENTS_NAMES,
    "airflow.timetables.assets": _ASSETS,
    "airflow.timetables.datasets": {"DatasetOrTimeSchedule": f"{_EVENTS}:DatasetOrTimeSchedule"},
    "airflow.timetables.simple": {
        "NullTimetable": "conveyor.model.schedules:NoSchedule",
        "OnceTimetable": "conveyor.model.schedules:OnceSchedule",
        "PartitionedAssetTimetable": f"{_PARTITIONED}:PartitionedAssetTimetable",
        "PartitionedAtRuntime": f"{_PARTITIONED}:PartitionedAtRuntime",
    },
    **{
        f"airflow.partition_mappers.{module}": same_names(_MAPPERS, *names)
        for module, names in _MAPPER_MODULES.items()
    },
    **{
        f"airflow.partition_mappers.{module}": same_names(_WINDOWS, *names)
        for module, names in _WINDOW_MODULES.items()
    },
    "airflow.partition_mappers": _MAPPERS_BY_NAME,
    # Where Airflow finds a user's timetable class; Conveyor imports it by module instead.
    "airflow.plugins_manager": {"AirflowPlugin": "conveyor.airflow_compat.plugins:AirflowPlugin"},
}

#: Names Airflow 3 exports from ``airflow.sdk`` as well.
SDK_TIMETABLE_NAMES: dict[str, str] = {
    **_TRIGGER,
    **_INTERVAL,
    **_EVENTS_NAMES,
    **_ASSETS,
    **_PARTITION_TIMETABLES,
    **_MAPPERS_BY_NAME,
}
