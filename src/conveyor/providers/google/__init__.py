"""Airflow's google provider, its BigQuery and Cloud Storage part, on Google's own clients
(``google-cloud-bigquery``, ``google-cloud-storage``: the extra ``conveyor[google]``).

``base_google.py`` turns a ``google_cloud_platform`` connection into credentials and a
project; ``bigquery.py`` and ``gcs.py`` are the hooks DAG code calls; the operators, sensors
and transfers (``bigquery_operators.py``, ``gcs_operators.py``, ``sensors.py``,
``gcs_transfers.py``, ``bigquery_transfers.py``, ``sql_to_gcs.py``) are built on them.
"""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_G = "airflow.providers.google.cloud"
_GP = "conveyor.providers.google"
_BASE = f"{_GP}.base_google:GoogleBaseHook"
_GOOGLE_FIELDS = (
    FormField("keyfile_dict", "Service account key (JSON text)", '{"type": "service_account"}'),
    FormField("key_path", "Service account key file", "/secrets/gcp.json"),
    FormField("project", "Project", "my-project"),
)

PROVIDER = Provider(
    name="google",
    extra="google",
    connection_types=(
        ConnectionType(
            "google_cloud_platform",
            _BASE,
            "Google Cloud",
            hidden=("host", "port", "login", "password", "schema"),
            extras=_GOOGLE_FIELDS,
        ),
        ConnectionType(
            "gcpbigquery",
            f"{_GP}.bigquery:BigQueryHook",
            "Google BigQuery",
            hidden=("host", "port", "login", "password", "schema"),
            extras=_GOOGLE_FIELDS,
        ),
    ),
    airflow_modules={
        "airflow.providers.google.common.hooks.base_google": same_names(
            f"{_GP}.base_google", "GoogleBaseHook"
        ),
        f"{_G}.hooks.bigquery": same_names(f"{_GP}.bigquery", "BigQueryHook"),
        f"{_G}.hooks.gcs": same_names(f"{_GP}.gcs", "GCSHook"),
        f"{_G}.operators.bigquery": same_names(
            f"{_GP}.bigquery_operators",
            "BigQueryInsertJobOperator",
            "BigQueryCreateEmptyDatasetOperator",
            "BigQueryDeleteDatasetOperator",
            "BigQueryCreateTableOperator",
            "BigQueryCreateEmptyTableOperator",
            "BigQueryDeleteTableOperator",
            "BigQueryCheckOperator",
            "BigQueryValueCheckOperator",
            "BigQueryGetDataOperator",
        )
        | same_names(
            f"{_GP}.bigquery_query", "BigQueryExecuteQueryOperator", "BigQueryUpsertTableOperator"
        ),
        f"{_G}.operators.gcs": same_names(
            f"{_GP}.gcs_operators",
            "GCSCreateBucketOperator",
            "GCSDeleteBucketOperator",
            "GCSDeleteObjectsOperator",
            "GCSListObjectsOperator",
        ),
        f"{_G}.sensors.gcs": same_names(
            f"{_GP}.sensors", "GCSObjectExistenceSensor", "GCSObjectsWithPrefixExistenceSensor"
        ),
        f"{_G}.sensors.bigquery": same_names(f"{_GP}.sensors", "BigQueryTableExistenceSensor"),
        f"{_G}.transfers.bigquery_to_gcs": same_names(
            f"{_GP}.bigquery_transfers", "BigQueryToGCSOperator"
        ),
        f"{_G}.transfers.gcs_to_bigquery": same_names(
            f"{_GP}.bigquery_transfers", "GCSToBigQueryOperator"
        ),
        f"{_G}.transfers.postgres_to_gcs": same_names(f"{_GP}.sql_to_gcs", "PostgresToGCSOperator"),
        f"{_G}.transfers.local_to_gcs": same_names(
            f"{_GP}.gcs_transfers", "LocalFilesystemToGCSOperator"
        ),
        f"{_G}.transfers.gcs_to_local": same_names(
            f"{_GP}.gcs_transfers", "GCSToLocalFilesystemOperator"
        ),
        # Airflow 1.10's contrib paths: the same classes with 1.10's keywords and defaults.
        "airflow.contrib.hooks.bigquery_hook": same_names(f"{_GP}.contrib", "BigQueryHook"),
        "airflow.contrib.hooks.gcs_hook": {"GoogleCloudStorageHook": f"{_GP}.gcs:GCSHook"},
        "airflow.contrib.operators.bigquery_operator": same_names(
            f"{_GP}.contrib", "BigQueryOperator"
        ),
        "airflow.contrib.operators.gcs_to_bq": same_names(
            f"{_GP}.contrib", "GoogleCloudStorageToBigQueryOperator"
        ),
        "airflow.contrib.operators.bigquery_to_gcs": same_names(
            f"{_GP}.contrib", "BigQueryToCloudStorageOperator"
        ),
        "airflow.contrib.sensors.gcs_sensor": {
            "GoogleCloudStorageObjectSensor": f"{_GP}.sensors:GCSObjectExistenceSensor"
        },
    },
)
