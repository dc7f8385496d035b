"""The provider names of docs/airflow.md's supported-modules table that only Airflow 2.10.5
has, as a task on Airflow 3.3.2 sees them: the error of a module that does not import
(its class name), else whether each name is there. Conveyor has them in both spellings
(marks.json, deliberate)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, rec

MODULES = {
    "airflow.contrib.hooks.aws_athena_hook": ["AWSAthenaHook"],
    "airflow.contrib.hooks.aws_hook": ["AwsHook"],
    "airflow.contrib.hooks.aws_lambda_hook": ["AwsLambdaHook"],
    "airflow.contrib.hooks.aws_sns_hook": ["AwsSnsHook"],
    "airflow.contrib.hooks.aws_sqs_hook": ["SQSHook"],
    "airflow.contrib.hooks.bigquery_hook": ["BigQueryHook"],
    "airflow.contrib.hooks.discord_webhook_hook": ["DiscordWebhookHook"],
    "airflow.contrib.hooks.emr_hook": ["EmrHook"],
    "airflow.contrib.hooks.gcs_hook": ["GoogleCloudStorageHook"],
    "airflow.contrib.hooks.sftp_hook": ["SFTPHook"],
    "airflow.contrib.hooks.slack_webhook_hook": ["SlackWebhookHook"],
    "airflow.contrib.hooks.spark_submit_hook": ["SparkSubmitHook"],
    "airflow.contrib.hooks.ssh_hook": ["SSHHook"],
    "airflow.contrib.operators.aws_athena_operator": ["AWSAthenaOperator"],
    "airflow.contrib.operators.aws_sqs_publish_operator": ["SQSPublishOperator"],
    "airflow.contrib.operators.bigquery_to_gcs": ["BigQueryToCloudStorageOperator"],
    "airflow.contrib.operators.discord_webhook_operator": ["DiscordWebhookOperator"],
    "airflow.contrib.operators.gcs_to_bq": ["GoogleCloudStorageToBigQueryOperator"],
    "airflow.contrib.operators.kubernetes_pod_operator": ["KubernetesPodOperator"],
    "airflow.contrib.operators.sftp_operator": ["SFTPOperator"],
    "airflow.contrib.operators.slack_webhook_operator": ["SlackWebhookOperator"],
    "airflow.contrib.operators.sns_publish_operator": ["SnsPublishOperator"],
    "airflow.contrib.operators.spark_submit_operator": ["SparkSubmitOperator"],
    "airflow.contrib.operators.ssh_operator": ["SSHOperator"],
    "airflow.contrib.sensors.aws_athena_sensor": ["AthenaSensor"],
    "airflow.contrib.sensors.aws_sqs_sensor": ["SQSSensor"],
    "airflow.contrib.sensors.gcs_sensor": ["GoogleCloudStorageObjectSensor"],
    "airflow.contrib.sensors.sftp_sensor": ["SFTPSensor"],
    "airflow.hooks.S3_hook": ["S3Hook"],
    "airflow.hooks.dbapi": ["DbApiHook"],
    "airflow.hooks.dbapi_hook": ["DbApiHook"],
    "airflow.hooks.docker_hook": ["DockerHook"],
    "airflow.hooks.http_hook": ["HttpHook"],
    "airflow.hooks.jdbc_hook": ["JdbcHook"],
    "airflow.hooks.mysql_hook": ["MySqlHook"],
    "airflow.hooks.postgres_hook": ["PostgresHook"],
    "airflow.hooks.samba_hook": ["SambaHook"],
    "airflow.hooks.slack_hook": ["SlackHook"],
    "airflow.hooks.sqlite_hook": ["SqliteHook"],
    "airflow.kubernetes.secret": ["Secret"],
    "airflow.operators.check_operator": [
        "CheckOperator",
        "IntervalCheckOperator",
        "SQLCheckOperator",
        "SQLIntervalCheckOperator",
        "SQLValueCheckOperator",
        "ThresholdCheckOperator",
        "ValueCheckOperator",
    ],
    "airflow.operators.docker_operator": ["DockerOperator"],
    "airflow.operators.email_operator": ["EmailOperator"],
    "airflow.operators.postgres_operator": ["PostgresOperator"],
    "airflow.operators.slack_operator": ["SlackAPIOperator", "SlackAPIPostOperator"],
    "airflow.operators.sql": [
        "BaseSQLOperator",
        "BranchSQLOperator",
        "SQLCheckOperator",
        "SQLColumnCheckOperator",
        "SQLIntervalCheckOperator",
        "SQLTableCheckOperator",
        "SQLThresholdCheckOperator",
        "SQLValueCheckOperator",
    ],
    "airflow.operators.sql_branch_operator": ["BranchSqlOperator"],
    "airflow.providers.postgres.operators.postgres": ["PostgresOperator"],
    "airflow.sensors.http_sensor": ["HttpSensor"],
    "airflow.sensors.s3_key_sensor": ["S3KeySensor"],
    "airflow.sensors.sql": ["SqlSensor"],
    "airflow.sensors.sql_sensor": ["SqlSensor"],
}

with DAG("names_prov_only_af2", schedule=None, start_date=START, catchup=False):

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
