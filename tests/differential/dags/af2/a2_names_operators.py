"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.operators.bash_operator to
airflow.operators.python_operator."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.operators.bash_operator": ["BashOperator"],
    "airflow.operators.dagrun_operator": ["TriggerDagRunOperator"],
    "airflow.operators.dummy": ["DummyOperator"],
    "airflow.operators.dummy_operator": ["DummyOperator"],
    "airflow.operators.latest_only_operator": ["LatestOnlyOperator"],
    "airflow.operators.python_operator": [
        "BranchPythonOperator",
        "PythonOperator",
        "PythonVirtualenvOperator",
        "ShortCircuitOperator",
    ],
}

with DAG("a2_names_operators", schedule_interval=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
