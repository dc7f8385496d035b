"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.security.permissions to
airflow.security.permissions."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.security.permissions": [
        "ACTION_CAN_ACCESS_MENU",
        "ACTION_CAN_CREATE",
        "ACTION_CAN_DELETE",
        "ACTION_CAN_EDIT",
        "ACTION_CAN_READ",
        "DAG_ACTIONS",
        "DEPRECATED_ACTION_CAN_DAG_EDIT",
        "DEPRECATED_ACTION_CAN_DAG_READ",
        "RESOURCE_DAG",
        "RESOURCE_DAG_PREFIX",
        "RESOURCE_DAG_RUN",
        "RESOURCE_TASK_INSTANCE",
        "resource_name_for_dag",
    ]
}

with DAG("names_security", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
