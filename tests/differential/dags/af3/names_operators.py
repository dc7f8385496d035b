"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.operators.bash to
airflow.operators.weekday."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.operators.bash": ["BashOperator"],
    "airflow.operators.datetime": ["BranchDateTimeOperator"],
    "airflow.operators.empty": ["EmptyOperator"],
    "airflow.operators.latest_only": ["LatestOnlyOperator"],
    "airflow.operators.python": [
        "BranchExternalPythonOperator",
        "BranchPythonOperator",
        "BranchPythonVirtualenvOperator",
        "ExternalPythonOperator",
        "PythonOperator",
        "PythonVirtualenvOperator",
        "ShortCircuitOperator",
        "get_current_context",
    ],
    "airflow.operators.trigger_dagrun": ["TriggerDagRunOperator"],
    "airflow.operators.weekday": ["BranchDayOfWeekOperator"],
}

with DAG("names_operators", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
