"""What a DAG author sees of the amazon provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.amazon.aws.hooks.athena to
airflow.providers.amazon.aws.transfers.s3_to_sql:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.amazon.aws.hooks.athena": ["AthenaHook"],
    "airflow.providers.amazon.aws.hooks.base_aws": ["AwsBaseHook"],
    "airflow.providers.amazon.aws.hooks.ecs": ["EcsHook"],
    "airflow.providers.amazon.aws.hooks.emr": ["EmrServerlessHook"],
    "airflow.providers.amazon.aws.hooks.glue": ["GlueJobHook"],
    "airflow.providers.amazon.aws.hooks.glue_crawler": ["GlueCrawlerHook"],
    "airflow.providers.amazon.aws.hooks.lambda_function": ["LambdaHook"],
    "airflow.providers.amazon.aws.hooks.s3": ["S3Hook"],
    "airflow.providers.amazon.aws.hooks.secrets_manager": ["SecretsManagerHook"],
    "airflow.providers.amazon.aws.hooks.sns": ["SnsHook"],
    "airflow.providers.amazon.aws.hooks.sqs": ["SqsHook"],
    "airflow.providers.amazon.aws.operators.athena": ["AthenaOperator"],
    "airflow.providers.amazon.aws.operators.ecs": ["EcsRunTaskOperator"],
    "airflow.providers.amazon.aws.operators.emr": [
        "EmrAddStepsOperator",
        "EmrCreateJobFlowOperator",
        "EmrServerlessDeleteApplicationOperator",
        "EmrServerlessStartJobOperator",
        "EmrTerminateJobFlowOperator",
    ],
    "airflow.providers.amazon.aws.operators.glue": ["GlueJobOperator"],
    "airflow.providers.amazon.aws.operators.glue_crawler": ["GlueCrawlerOperator"],
    "airflow.providers.amazon.aws.operators.lambda_function": [
        "LambdaCreateFunctionOperator",
        "LambdaInvokeFunctionOperator",
    ],
    "airflow.providers.amazon.aws.operators.s3": [
        "S3CopyObjectOperator",
        "S3CreateObjectOperator",
        "S3DeleteBucketOperator",
        "S3DeleteObjectsOperator",
        "S3ListOperator",
    ],
    "airflow.providers.amazon.aws.operators.sns": ["SnsPublishOperator"],
    "airflow.providers.amazon.aws.operators.sqs": ["SqsPublishOperator"],
    "airflow.providers.amazon.aws.sensors.athena": ["AthenaSensor"],
    "airflow.providers.amazon.aws.sensors.emr": [
        "EmrJobFlowSensor",
        "EmrServerlessJobSensor",
        "EmrStepSensor",
    ],
    "airflow.providers.amazon.aws.sensors.glue": ["GlueJobSensor"],
    "airflow.providers.amazon.aws.sensors.s3": ["S3KeySensor"],
    "airflow.providers.amazon.aws.sensors.sqs": ["SqsSensor"],
    "airflow.providers.amazon.aws.transfers.gcs_to_s3": ["GCSToS3Operator"],
    "airflow.providers.amazon.aws.transfers.local_to_s3": ["LocalFilesystemToS3Operator"],
    "airflow.providers.amazon.aws.transfers.s3_to_sql": ["S3ToSqlOperator"],
}

with DAG("names_prov_amazon", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
