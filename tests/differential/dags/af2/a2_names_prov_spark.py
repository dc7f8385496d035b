"""What a DAG author sees of the spark provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 2.10.5 has and 3.3.2 does not, of
airflow.contrib.hooks.spark_submit_hook to
airflow.contrib.hooks.spark_submit_hook:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, describe, rec

MODULES = {
    "airflow.contrib.hooks.spark_submit_hook": ["SparkSubmitHook"],
}

with DAG("a2_names_prov_spark", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
