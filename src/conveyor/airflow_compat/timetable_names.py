"""Airflow's timetable modules and names, and the Conveyor object each stands for.

Data only, kept apart from ``table.py`` (which merges it into ``MODULES``) so that the
timetables are listed in one place. Airflow 3 exports them from ``airflow.sdk`` too.
"""

from __future__ import annotations

_TT = "conveyor.model.timetables"
_EVENTS = "conveyor.model.event_timetables"
_PROTOCOL = "conveyor.model.timetable_protocol"

_TRIGGER = {
    "CronTriggerTimetable": f"{_TT}:CronTriggerTimetable",
    "DeltaTriggerTimetable": f"{_TT}:DeltaTriggerTimetable",
    "MultipleCronTriggerTimetable": f"{_TT}:MultipleCronTriggerTimetable",
}
_INTERVAL = {
    "CronDataIntervalTimetable": f"{_TT}:CronDataIntervalTimetable",
    "DeltaDataIntervalTimetable": f"{_TT}:DeltaDataIntervalTimetable",
}
_EVENTS_NAMES = {"EventsTimetable": f"{_EVENTS}:EventsTimetable"}
_ASSETS = {"AssetOrTimeSchedule": f"{_EVENTS}:AssetOrTimeSchedule"}

#: Airflow module -> {name -> "conveyor.module:attribute"}, merged into ``table.MODULES``.
TIMETABLE_MODULES: dict[str, dict[str, str]] = {
    "airflow.timetables.base": {
        "Timetable": f"{_PROTOCOL}:Timetable",
        "DataInterval": f"{_PROTOCOL}:DataInterval",
        "DagRunInfo": f"{_PROTOCOL}:DagRunInfo",
        "TimeRestriction": f"{_PROTOCOL}:TimeRestriction",
    },
    "airflow.timetables.trigger": _TRIGGER,
    "airflow.timetables.interval": _INTERVAL,
    "airflow.timetables.events": _EVENTS_NAMES,
    "airflow.timetables.assets": _ASSETS,
    "airflow.timetables.datasets": {"DatasetOrTimeSchedule": f"{_EVENTS}:DatasetOrTimeSchedule"},
    "airflow.timetables.simple": {
        "NullTimetable": "conveyor.model.schedules:NoSchedule",
        "OnceTimetable": "conveyor.model.schedules:OnceSchedule",
    },
    # Where Airflow finds a user's timetable class; Conveyor imports it by module instead.
    "airflow.plugins_manager": {"AirflowPlugin": "conveyor.airflow_compat.plugins:AirflowPlugin"},
}

#: Names Airflow 3 exports from ``airflow.sdk`` as well.
SDK_TIMETABLE_NAMES: dict[str, str] = {**_TRIGGER, **_INTERVAL, **_EVENTS_NAMES, **_ASSETS}
