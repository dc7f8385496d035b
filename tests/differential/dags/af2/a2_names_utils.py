"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.utils.dates to
airflow.utils.weekday."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.utils.dates": ["datetime", "days_ago", "timedelta"],
    "airflow.utils.db": ["create_session"],
    "airflow.utils.decorators": ["apply_defaults"],
    "airflow.utils.helpers": ["chain", "cross_downstream"],
    "airflow.utils.module_loading": ["import_string", "qualname"],
    "airflow.utils.operator_helpers": ["context_to_airflow_vars"],
    "airflow.utils.weekday": ["WeekDay"],
}

with DAG("a2_names_utils", schedule_interval=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
