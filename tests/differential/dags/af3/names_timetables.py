"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.timetables.assets to
airflow.timetables.trigger."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.timetables.assets": ["AssetOrTimeSchedule"],
    "airflow.timetables.base": ["DagRunInfo", "DataInterval", "TimeRestriction", "Timetable"],
    "airflow.timetables.events": ["EventsTimetable"],
    "airflow.timetables.interval": ["CronDataIntervalTimetable", "DeltaDataIntervalTimetable"],
    "airflow.timetables.simple": ["NullTimetable", "OnceTimetable"],
    "airflow.timetables.trigger": [
        "CronTriggerTimetable",
        "DeltaTriggerTimetable",
        "MultipleCronTriggerTimetable",
    ],
}

with DAG("names_timetables", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
