"""What a DAG author sees of the google provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.google.cloud.hooks.bigquery to
airflow.providers.google.common.hooks.base_google:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.google.cloud.hooks.bigquery": ["BigQueryHook"],
    "airflow.providers.google.cloud.hooks.gcs": ["GCSHook"],
    "airflow.providers.google.cloud.operators.bigquery": [
        "BigQueryCheckOperator",
        "BigQueryCreateEmptyDatasetOperator",
        "BigQueryCreateTableOperator",
        "BigQueryDeleteDatasetOperator",
        "BigQueryDeleteTableOperator",
        "BigQueryGetDataOperator",
        "BigQueryInsertJobOperator",
        "BigQueryUpsertTableOperator",
        "BigQueryValueCheckOperator",
    ],
    "airflow.providers.google.cloud.operators.gcs": [
        "GCSCreateBucketOperator",
        "GCSDeleteBucketOperator",
        "GCSDeleteObjectsOperator",
        "GCSListObjectsOperator",
    ],
    "airflow.providers.google.cloud.sensors.bigquery": ["BigQueryTableExistenceSensor"],
    "airflow.providers.google.cloud.sensors.gcs": [
        "GCSObjectExistenceSensor",
        "GCSObjectsWithPrefixExistenceSensor",
    ],
    "airflow.providers.google.cloud.transfers.bigquery_to_gcs": ["BigQueryToGCSOperator"],
    "airflow.providers.google.cloud.transfers.gcs_to_bigquery": ["GCSToBigQueryOperator"],
    "airflow.providers.google.cloud.transfers.gcs_to_local": ["GCSToLocalFilesystemOperator"],
    "airflow.providers.google.cloud.transfers.local_to_gcs": ["LocalFilesystemToGCSOperator"],
    "airflow.providers.google.cloud.transfers.postgres_to_gcs": ["PostgresToGCSOperator"],
    "airflow.providers.google.common.hooks.base_google": ["GoogleBaseHook"],
}

with DAG("names_prov_google", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
