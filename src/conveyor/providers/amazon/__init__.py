"""Airflow's amazon provider, its S3 part: ``AwsBaseHook``, ``S3Hook``, ``S3KeySensor`` and
the S3 operators, on boto3 (the extra ``conveyor[amazon]``).

``base_aws.py`` turns an ``aws`` connection into a boto3 session and clients and names the
connection when AWS cannot be reached or refuses it; ``s3.py`` is the hook DAG code calls;
``s3_sensor.py``, ``s3_operators.py`` and ``local_to_s3.py`` are built on that hook.
"""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_A = "conveyor.providers.amazon"
_AWS_BASE_HOOK = same_names(f"{_A}.base_aws", "AwsBaseHook")
_S3_HOOK = same_names(f"{_A}.s3", "S3Hook")
_S3_KEY_SENSOR = same_names(f"{_A}.s3_sensor", "S3KeySensor")
_S3_OPERATORS = same_names(
    f"{_A}.s3_operators",
    "S3CreateBucketOperator",
    "S3DeleteBucketOperator",
    "S3CreateObjectOperator",
    "S3CopyObjectOperator",
    "S3DeleteObjectsOperator",
    "S3ListOperator",
)


def _s3(*names: str) -> dict[str, str]:
    return {n: _S3_OPERATORS[n] for n in names}


#: The provider's own modules beyond S3, under ``airflow.providers.amazon.aws.``.
_BEYOND_S3: dict[str, dict[str, str]] = {
    "hooks.sqs": same_names(f"{_A}.sqs", "SqsHook"),
    "operators.sqs": same_names(f"{_A}.sqs", "SqsPublishOperator"),
    "sensors.sqs": same_names(f"{_A}.sqs", "SqsSensor"),
    "hooks.sns": same_names(f"{_A}.sns", "SnsHook"),
    "operators.sns": same_names(f"{_A}.sns", "SnsPublishOperator"),
    "hooks.secrets_manager": same_names(f"{_A}.secrets_manager", "SecretsManagerHook"),
    "hooks.lambda_function": same_names(f"{_A}.lambda_function", "LambdaHook", "AwsLambdaHook"),
    "operators.lambda_function": same_names(
        f"{_A}.lambda_function", "LambdaCreateFunctionOperator", "LambdaInvokeFunctionOperator"
    ),
    "operators.aws_lambda": same_names(f"{_A}.lambda_function", "AwsLambdaInvokeFunctionOperator"),
    "hooks.athena": same_names(f"{_A}.athena", "AthenaHook", "AWSAthenaHook"),
    "operators.athena": same_names(f"{_A}.athena", "AthenaOperator", "AWSAthenaOperator"),
    "sensors.athena": same_names(f"{_A}.athena", "AthenaSensor"),
    "hooks.glue": same_names(f"{_A}.glue", "GlueJobHook", "AwsGlueJobHook"),
    "operators.glue": same_names(f"{_A}.glue", "GlueJobOperator", "AwsGlueJobOperator"),
    "sensors.glue": same_names(f"{_A}.glue", "GlueJobSensor", "AwsGlueJobSensor"),
    "hooks.glue_crawler": same_names(f"{_A}.glue", "GlueCrawlerHook", "AwsGlueCrawlerHook"),
    "operators.glue_crawler": same_names(
        f"{_A}.glue", "GlueCrawlerOperator", "AwsGlueCrawlerOperator"
    ),
    "hooks.ecs": same_names(f"{_A}.ecs", "EcsHook"),
    "operators.ecs": same_names(f"{_A}.ecs", "EcsRunTaskOperator", "ECSOperator", "EcsOperator"),
    "hooks.emr": same_names(f"{_A}.emr", "EmrHook")
    | same_names(f"{_A}.emr_serverless", "EmrServerlessHook"),
    "operators.emr": same_names(
        f"{_A}.emr",
        "EmrCreateJobFlowOperator",
        "EmrAddStepsOperator",
        "EmrTerminateJobFlowOperator",
    )
    | same_names(
        f"{_A}.emr_serverless",
        "EmrServerlessCreateApplicationOperator",
        "EmrServerlessStartJobOperator",
        "EmrServerlessDeleteApplicationOperator",
    ),
    "sensors.emr": same_names(f"{_A}.emr", "EmrJobFlowSensor", "EmrStepSensor")
    | same_names(f"{_A}.emr_serverless", "EmrServerlessJobSensor"),
    # The provider's module names before 4.0, one class each.
    "operators.emr_create_job_flow": same_names(f"{_A}.emr", "EmrCreateJobFlowOperator"),
    "operators.emr_add_steps": same_names(f"{_A}.emr", "EmrAddStepsOperator"),
    "operators.emr_terminate_job_flow": same_names(f"{_A}.emr", "EmrTerminateJobFlowOperator"),
    "sensors.emr_job_flow": same_names(f"{_A}.emr", "EmrJobFlowSensor"),
    "sensors.emr_step": same_names(f"{_A}.emr", "EmrStepSensor"),
}
#: Airflow 1.10's contrib paths of the same services.
_CONTRIB: dict[str, dict[str, str]] = {
    "hooks.aws_sqs_hook": same_names(f"{_A}.sqs", "SQSHook"),
    "operators.aws_sqs_publish_operator": same_names(f"{_A}.sqs", "SQSPublishOperator"),
    "sensors.aws_sqs_sensor": same_names(f"{_A}.sqs", "SQSSensor"),
    "hooks.aws_sns_hook": same_names(f"{_A}.sns", "AwsSnsHook"),
    "operators.sns_publish_operator": same_names(f"{_A}.sns", "SnsPublishOperator"),
    "hooks.aws_lambda_hook": same_names(f"{_A}.lambda_function", "AwsLambdaHook"),
    "hooks.aws_athena_hook": same_names(f"{_A}.athena", "AWSAthenaHook"),
    "operators.aws_athena_operator": same_names(f"{_A}.athena", "AWSAthenaOperator"),
    "sensors.aws_athena_sensor": same_names(f"{_A}.athena", "AthenaSensor"),
    "hooks.aws_glue_job_hook": same_names(f"{_A}.glue", "AwsGlueJobHook"),
    "operators.ecs_operator": same_names(f"{_A}.ecs", "ECSOperator"),
    "hooks.emr_hook": same_names(f"{_A}.emr", "EmrHook"),
    "operators.emr_create_job_flow_operator": same_names(f"{_A}.emr", "EmrCreateJobFlowOperator"),
    "operators.emr_add_steps_operator": same_names(f"{_A}.emr", "EmrAddStepsOperator"),
    "operators.emr_terminate_job_flow_operator": same_names(
        f"{_A}.emr", "EmrTerminateJobFlowOperator"
    ),
    "sensors.emr_job_flow_sensor": same_names(f"{_A}.emr", "EmrJobFlowSensor"),
    "sensors.emr_step_sensor": same_names(f"{_A}.emr", "EmrStepSensor"),
    "hooks.aws_hook": {"AwsHook": _AWS_BASE_HOOK["AwsBaseHook"]},
    "operators.s3_list_operator": _s3("S3ListOperator"),
    "operators.s3_copy_object_operator": _s3("S3CopyObjectOperator"),
    "operators.s3_delete_objects_operator": _s3("S3DeleteObjectsOperator"),
}

PROVIDER = Provider(
    name="amazon",
    extra="amazon",  # boto3
    connection_types=(
        ConnectionType(
            "aws",
            f"{_A}.base_aws:AwsBaseHook",
            "Amazon Web Services",
            fields=(
                FormField("login", "Access key id", "AKIA…"),
                FormField("password", "Secret access key"),
            ),
            hidden=("host", "port", "schema"),
            extras=(
                FormField("region_name", "Region", "eu-west-1"),
                FormField("endpoint_url", "Endpoint URL", "http://127.0.0.1:9000"),
                FormField("aws_session_token", "Session token"),
            ),
        ),
    ),
    airflow_modules={
        "airflow.providers.amazon.aws.hooks.base_aws": _AWS_BASE_HOOK,
        "airflow.providers.amazon.aws.hooks.s3": _S3_HOOK,
        "airflow.providers.amazon.aws.sensors.s3": _S3_KEY_SENSOR,
        "airflow.providers.amazon.aws.operators.s3": _S3_OPERATORS,
        "airflow.providers.amazon.aws.transfers.local_to_s3": same_names(
            f"{_A}.local_to_s3", "LocalFilesystemToS3Operator"
        ),
        "airflow.providers.amazon.aws.transfers.s3_to_sql": same_names(
            f"{_A}.s3_to_sql", "S3ToSqlOperator"
        ),
        # GCSToS3Operator reads with the google provider's hook: it needs both extras
        # (conveyor[amazon,google]).
        "airflow.providers.amazon.aws.transfers.gcs_to_s3": same_names(
            f"{_A}.gcs_to_s3", "GCSToS3Operator"
        ),
        # The amazon provider's module names before 4.0 (Airflow 2.0-2.3 era files).
        "airflow.providers.amazon.aws.operators.s3_bucket": _s3(
            "S3CreateBucketOperator", "S3DeleteBucketOperator"
        ),
        "airflow.providers.amazon.aws.operators.s3_copy_object": _s3("S3CopyObjectOperator"),
        "airflow.providers.amazon.aws.operators.s3_delete_objects": _s3("S3DeleteObjectsOperator"),
        "airflow.providers.amazon.aws.operators.s3_list": _s3("S3ListOperator"),
        "airflow.providers.amazon.aws.sensors.s3_key": _S3_KEY_SENSOR,
        **{f"airflow.providers.amazon.aws.{m}": names for m, names in _BEYOND_S3.items()},
        # Airflow 1.10's paths.
        "airflow.hooks.S3_hook": _S3_HOOK,
        "airflow.sensors.s3_key_sensor": _S3_KEY_SENSOR,
        **{f"airflow.contrib.{m}": names for m, names in _CONTRIB.items()},
        # ``from airflow.hooks import S3Hook``: 1.10 answered these from the packages too.
        "airflow.hooks": _S3_HOOK,
        "airflow.sensors": _S3_KEY_SENSOR,
        "airflow.operators.sensors": _S3_KEY_SENSOR,
    },
)
