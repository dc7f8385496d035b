"""What a DAG author sees of the spark provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.apache.spark.hooks.spark_submit to
airflow.providers.apache.spark.operators.spark_submit:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.apache.spark.hooks.spark_submit": ["SparkSubmitHook"],
    "airflow.providers.apache.spark.operators.spark_submit": ["SparkSubmitOperator"],
}

with DAG("names_prov_spark", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
