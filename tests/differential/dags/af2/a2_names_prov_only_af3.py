"""The provider names of docs/airflow.md's supported-modules table that only Airflow 3.3.2
has, as a task on Airflow 2.10.5 sees them: the error of a module that does not import
(its class name), else whether each name is there. Conveyor has them in both spellings
(marks.json, deliberate)."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, rec

MODULES = {
    "airflow.providers.google.cloud.transfers.postgres_to_gcs": ["PostgresToGCSOperator"],
    "airflow.providers.sftp.hooks.sftp": ["SFTPOperation"],
    "airflow.sdk.io": ["ObjectStoragePath"],
    "airflow.sdk.io.path": ["ObjectStoragePath"],
}

with DAG("a2_names_prov_only_af3", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            try:
                loaded = importlib.import_module(module)
            except Exception as error:  # its class is what is compared
                rec(context, module, {"error": type(error).__name__})
                continue
            rec(context, module, {name: hasattr(loaded, name) for name in names})

    probe()
