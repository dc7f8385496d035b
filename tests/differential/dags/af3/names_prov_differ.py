"""What a DAG author sees of the provider names Conveyor gives otherwise, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.amazon.aws.hooks.emr to
airflow.providers.smtp.hooks.smtp:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe). Each differs on purpose: marks.json, deliberate."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.amazon.aws.hooks.emr": ["EmrHook"],
    "airflow.providers.amazon.aws.operators.emr": ["EmrServerlessCreateApplicationOperator"],
    "airflow.providers.amazon.aws.operators.s3": ["S3CreateBucketOperator"],
    "airflow.providers.cncf.kubernetes.operators.pod": ["KubernetesPodOperator"],
    "airflow.providers.common.sql.hooks.sql": ["DbApiHook"],
    "airflow.providers.smtp.hooks.smtp": ["SmtpHook"],
}

with DAG("names_prov_differ", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
