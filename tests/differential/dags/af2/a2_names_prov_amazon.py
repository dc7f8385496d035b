"""What a DAG author sees of the amazon provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 2.10.5 has and 3.3.2 does not, of
airflow.contrib.hooks.aws_athena_hook to
airflow.sensors.s3_key_sensor:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, describe, rec

MODULES = {
    "airflow.contrib.hooks.aws_athena_hook": ["AWSAthenaHook"],
    "airflow.contrib.hooks.aws_hook": ["AwsHook"],
    "airflow.contrib.hooks.aws_sns_hook": ["AwsSnsHook"],
    "airflow.contrib.hooks.aws_sqs_hook": ["SQSHook"],
    "airflow.contrib.operators.aws_athena_operator": ["AWSAthenaOperator"],
    "airflow.contrib.operators.aws_sqs_publish_operator": ["SQSPublishOperator"],
    "airflow.contrib.operators.sns_publish_operator": ["SnsPublishOperator"],
    "airflow.contrib.sensors.aws_athena_sensor": ["AthenaSensor"],
    "airflow.contrib.sensors.aws_sqs_sensor": ["SQSSensor"],
    "airflow.hooks.S3_hook": ["S3Hook"],
    "airflow.sensors.s3_key_sensor": ["S3KeySensor"],
}

with DAG("a2_names_prov_amazon", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
