"""What a DAG author sees of the provider names Conveyor gives otherwise, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 2.10.5 has and 3.3.2 does not, of
airflow.contrib.hooks.aws_lambda_hook to
airflow.sensors.sql_sensor:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe). Each differs on purpose: marks.json, deliberate."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, describe, rec

MODULES = {
    "airflow.contrib.hooks.aws_lambda_hook": ["AwsLambdaHook"],
    "airflow.contrib.hooks.emr_hook": ["EmrHook"],
    "airflow.contrib.operators.bigquery_to_gcs": ["BigQueryToCloudStorageOperator"],
    "airflow.contrib.operators.gcs_to_bq": ["GoogleCloudStorageToBigQueryOperator"],
    "airflow.contrib.operators.kubernetes_pod_operator": ["KubernetesPodOperator"],
    "airflow.contrib.operators.sftp_operator": ["SFTPOperator"],
    "airflow.contrib.operators.slack_webhook_operator": ["SlackWebhookOperator"],
    "airflow.contrib.operators.spark_submit_operator": ["SparkSubmitOperator"],
    "airflow.contrib.operators.ssh_operator": ["SSHOperator"],
    "airflow.contrib.sensors.gcs_sensor": ["GoogleCloudStorageObjectSensor"],
    "airflow.contrib.sensors.sftp_sensor": ["SFTPSensor"],
    "airflow.hooks.dbapi": ["DbApiHook"],
    "airflow.hooks.dbapi_hook": ["DbApiHook"],
    "airflow.operators.docker_operator": ["DockerOperator"],
    "airflow.operators.email_operator": ["EmailOperator"],
    "airflow.operators.slack_operator": ["SlackAPIOperator", "SlackAPIPostOperator"],
    "airflow.sensors.http_sensor": ["HttpSensor"],
    "airflow.sensors.sql": ["SqlSensor"],
    "airflow.sensors.sql_sensor": ["SqlSensor"],
}

with DAG("a2_names_prov_differ", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
